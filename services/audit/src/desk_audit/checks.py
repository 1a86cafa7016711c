"""Running a verification: over a stream on NATS (the log or a mirror), over an export file, or
over an incident's proofs; and comparing a copy with what a witness last cosigned."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from nats.js import JetStreamContext

from desk_audit import source
from desk_audit.exports import FORMAT
from desk_audit.merkle import verify_inclusion
from desk_audit.notes import Checkpoint, Note, VerifierKey, cosignature_time, log_signature_valid
from desk_audit.seals import read_seal
from desk_audit.stored import StoredMessage
from desk_audit.verify import Finding, Outcome, Verifier

Shown = Callable[[int], None]


async def verify_stream(js: JetStreamContext, stream: str, verifier: Verifier, shown: Shown | None = None) -> Outcome:
    end = await source.last_sequence(js, stream)
    async for batch in source.read(js, stream, 1, end):
        for message in batch:
            verifier.feed(message)
        if shown:
            shown(batch[-1].seq)
    return verifier.finish()


def export_header(lines: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    for _, first in lines:
        if first.get("kind") != "export" or first.get("format") != FORMAT:
            raise ValueError(f"not a Desk Pemilu export (its first line is not a {FORMAT} header)")
        return first
    raise ValueError("the file is empty")


def verify_export(lines: Iterable[tuple[int, dict[str, Any]]], header: dict[str, Any],
                  verifier_for: Callable[[int], Verifier], shown: Shown | None = None) -> Outcome:
    """A whole-log or range export: every line fed to a verifier starting at the header's `from`."""
    verifier = verifier_for(int(header["from"]))
    last = int(header.get("to") or 0)
    for number, found in lines:
        try:
            message = StoredMessage.from_export(found)
        except ValueError as exc:
            verifier.outcome.findings.append(Finding(found.get("seq", 0) if isinstance(found.get("seq"), int) else 0,
                                                     "unreadable", f"line {number}: {exc}"))
            continue
        verifier.feed(message)
        if shown and (message.seq % 1000 == 0 or message.seq == last):
            shown(message.seq)
    return verifier.finish()


@dataclass
class ProofOutcome:
    proven: list[int]
    unsealed: list[int]
    findings: list[Finding]
    seal_seq: int
    size: int
    cosigned_by: list[str]

    @property
    def clean(self) -> bool:
        return not self.findings


def check_proofs(lines: Iterable[tuple[int, dict[str, Any]]], log_key: VerifierKey,
                 witnesses: Sequence[VerifierKey]) -> ProofOutcome:
    """An incident's export: the seal's signatures, then every message's inclusion in the sealed tree."""
    found = ProofOutcome([], [], [], 0, 0, [])
    checkpoint: Checkpoint | None = None
    for number, item in lines:
        try:
            message = StoredMessage.from_export(item)
        except ValueError as exc:
            found.findings.append(Finding(0, "unreadable", f"line {number}: {exc}"))
            continue
        if item.get("role") == "seal":
            checkpoint = _sealed_checkpoint(message, log_key, witnesses, found)
            continue
        proof = item.get("proof")
        if proof is None:
            found.unsealed.append(message.seq)
        elif checkpoint is None:
            found.findings.append(Finding(message.seq, "seal", "no valid seal before the proofs"))
        elif not _included(message, proof, checkpoint):
            found.findings.append(Finding(message.seq, "changed", f"not in the tree the seal at seq {found.seal_seq} "
                                                                  "signed: altered, or not from this log"))
        else:
            found.proven.append(message.seq)
    if checkpoint is None and not any(f.kind == "seal" for f in found.findings):
        found.findings.append(Finding(0, "seal", "the export holds no seal"))
    return found


def _sealed_checkpoint(message: StoredMessage, log_key: VerifierKey, witnesses: Sequence[VerifierKey],
                       found: ProofOutcome) -> Checkpoint | None:
    try:
        seal = read_seal(message.seq, message.data)
        note, checkpoint = seal.note, seal.checkpoint
    except ValueError as exc:
        found.findings.append(Finding(message.seq, "seal", f"the seal cannot be read: {exc}"))
        return None
    if not log_signature_valid(note, log_key):
        found.findings.append(Finding(message.seq, "seal", f"not signed by the log's key {log_key.name}"))
        return None
    found.seal_seq, found.size = message.seq, checkpoint.size
    for witness in witnesses:
        if any(cosignature_time(note.body, s, witness) is not None for s in note.signed_by(witness)):
            found.cosigned_by.append(witness.name)
    return checkpoint


def _included(message: StoredMessage, proof: Any, checkpoint: Checkpoint) -> bool:
    try:
        path = [base64.b64decode(p, validate=True) for p in proof["path"]]
        size = int(proof["size"])
    except (KeyError, TypeError, ValueError):
        return False
    return size == checkpoint.size and verify_inclusion(message.leaf(), message.seq - 1, size, path, checkpoint.root)


async def compare_with_witness(url: str, witness: VerifierKey, outcome: Outcome) -> list[Finding]:
    """What `witness` last cosigned, against this copy's seals: another root at that size is a fork;
    a size beyond this copy's seals means the copy is behind or was cut short."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = (await client.get(url.rstrip("/") + "/v1/checkpoint")).json()
    if not answer:
        return []
    note = Note.parse(answer["checkpoint"])
    checkpoint = Checkpoint.parse(note.body)
    if not any(cosignature_time(note.body, s, witness) is not None for s in note.signed_by(witness)):
        return [Finding(checkpoint.size, "cosignature", f"{witness.name}'s checkpoint is not cosigned with its key")]
    ours = outcome.root_at(checkpoint.size)
    if ours is not None and ours != checkpoint.root:
        return [Finding(checkpoint.size, "cosignature", f"{witness.name} cosigned another root for size "
                                                        f"{checkpoint.size} than this copy's seal: a forked history")]
    if checkpoint.size > outcome.sealed_to:
        return [Finding(outcome.sealed_to + 1, "missing", f"{witness.name} cosigned the log up to "
                                                          f"{checkpoint.size}; this copy's seals end at "
                                                          f"{outcome.sealed_to}: behind, or cut short")]
    return []
