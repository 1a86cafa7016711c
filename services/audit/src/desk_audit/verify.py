"""Verifying a copy of the log against its seals: pure, fed one stored message at a time.

Every message's leaf is recomputed; at each `AuditSealed` the leaves of its range are compared
with the leaves it lists, which must give the root it signed (so the list is the seal's own), the
hash chain is recomputed over them, and the desk's signature and the witnesses' cosignatures are
checked. A changed message is named by its sequence, as is a missing, repeated or out-of-order
one; messages after the last seal are reported as not yet sealed.

A verifier may start after sequence 1 (a range export): it then starts from the state recorded
in the seal that ends right before its first message (that seal comes later in the log)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from desk_audit.merkle import Frontier, Tree, root_of
from desk_audit.notes import Checkpoint, Note, VerifierKey, cosignature_time, log_signature_valid
from desk_audit.seals import read_seal
from desk_audit.stored import StoredMessage
from desk_shared.contracts.audit import AuditSealed, AuditSealedPayload

ZERO_CHAIN = bytes(32)


def chain_step(head: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(head + leaf).digest()


def split_leaves(packed: str) -> list[bytes]:
    raw = base64.b64decode(packed, validate=True)
    if len(raw) % 32:
        raise ValueError("leaf list not a whole number of hashes")
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


@dataclass(frozen=True)
class Finding:
    seq: int
    kind: str
    """changed, missing, repeated, inserted, reordered, seal, cosignature"""
    detail: str

    def text(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class Outcome:
    messages: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    seals: int = 0
    sealed_to: int = 0
    cosignatures: dict[str, int] = field(default_factory=dict)
    unsealed: int = 0
    anchored_at: int | None = None
    findings: list[Finding] = field(default_factory=list)
    witnessed: dict[str, dict[int, bytes]] = field(default_factory=dict)
    """Per witness, the roots it cosigned by tree size (to compare with the witness's own record)."""
    roots: dict[int, bytes] = field(default_factory=dict)
    """The signed root at each sealed size."""
    leaves: list[bytes] = field(default_factory=list)
    """Every sealed leaf from sequence 1 (when the copy starts there): the tree at any size it covers."""

    def root_at(self, size: int) -> bytes | None:
        """The tree's root at `size` by this copy's seals, if the copy covers it."""
        if size in self.roots:
            return self.roots[size]
        return Tree(self.leaves).root(size) if len(self.leaves) >= size and self.first_seq == 1 else None

    @property
    def clean(self) -> bool:
        return not self.findings


class Verifier:
    def __init__(self, log_key: VerifierKey, witnesses: Sequence[VerifierKey] = (), *, origin: str | None = None,
                 start: int = 1) -> None:
        self.log_key = log_key
        self.witnesses = {(w.name, w.key_hash): w for w in witnesses}
        self.origin = origin
        self.start = start
        self.outcome = Outcome(cosignatures={w.name: 0 for w in witnesses})
        self._expected = start
        self._pending: dict[int, bytes] = {}
        self._frontier = Frontier()
        self._chain = ZERO_CHAIN
        self._sealed = start - 1
        self._anchored = start == 1
        self._absent: set[int] = set()
        self._late: set[int] = set()
        """Found missing when their seal was checked: if they come later, they came out of order."""

    def _find(self, seq: int, kind: str, detail: str) -> None:
        self.outcome.findings.append(Finding(seq, kind, detail))

    def feed(self, message: StoredMessage) -> None:
        seq, found = message.seq, self.outcome
        found.messages += 1
        if found.first_seq is None:
            found.first_seq = seq
        leaf = message.leaf()
        if seq == self._expected:
            self._expected += 1
            self._pending[seq] = leaf
        elif seq > self._expected:
            self._absent.update(range(self._expected, seq))
            self._expected = seq + 1
            self._pending[seq] = leaf
        elif seq in self._absent:
            self._absent.discard(seq)
            self._pending[seq] = leaf
            self._find(seq, "reordered", f"found after seq {self._expected - 1}")
        elif seq in self._late:
            self._late.discard(seq)
            self._find(seq, "reordered", f"found after seq {self._expected - 1}, past the seal of its range")
        else:
            same = self._pending.get(seq) == leaf
            self._find(seq, "repeated" if same else "inserted",
                       "the same message again" if same else "another message with a sequence already seen")
        found.last_seq = max(found.last_seq, seq)
        if message.subject == AuditSealed.subject:
            self._seal(seq, message.data)

    def _seal(self, seq: int, data: bytes) -> None:
        try:
            seal = read_seal(seq, data)
            payload, note, checkpoint = seal.payload, seal.note, seal.checkpoint
            sealed_leaves = split_leaves(payload.leaves)
            frontier = [base64.b64decode(n, validate=True) for n in payload.frontier]
        except ValueError as exc:
            self._find(seq, "seal", f"the seal cannot be read: {exc}")
            return
        if not log_signature_valid(note, self.log_key):
            self._find(seq, "seal", f"not signed by the log's key {self.log_key.name}")
            return
        if (checkpoint.size, checkpoint.first) != (payload.last, payload.first) or payload.last >= seq:
            self._find(seq, "seal", f"its checkpoint covers {checkpoint.first}..{checkpoint.size}, the event says "
                                    f"{payload.first}..{payload.last}, stored at {seq}")
            return
        if self.origin is not None and checkpoint.origin != self.origin:
            self._find(seq, "seal", f"origin {checkpoint.origin!r}, not {self.origin!r}")
        self.outcome.seals += 1
        self.outcome.roots[checkpoint.size] = checkpoint.root
        self._cosignatures(seq, note, checkpoint)
        if not self._anchored:
            if payload.last == self.start - 1:
                self._anchor(seq, payload, checkpoint, frontier)
            return
        if payload.first != self._sealed + 1:
            self._find(seq, "seal", f"covers {payload.first}..{payload.last}, but the last seal ended at "
                                    f"{self._sealed}")
            return
        self._check_range(seq, payload, checkpoint, sealed_leaves, frontier)

    def _anchor(self, seq: int, payload: AuditSealedPayload, checkpoint: Checkpoint, nodes: list[bytes]) -> None:
        start = Frontier(payload.last, nodes)
        if not start.well_formed() or start.root() != checkpoint.root:
            self._find(seq, "seal", "its recorded tree state does not give its signed root")
            return
        self._frontier, self._chain, self._sealed, self._anchored = start, checkpoint.chain, payload.last, True
        self.outcome.anchored_at = seq
        self.outcome.sealed_to = payload.last

    def _check_range(self, seq: int, payload: AuditSealedPayload, checkpoint: Checkpoint, sealed: list[bytes],
                     nodes: list[bytes]) -> None:
        first, last = payload.first, payload.last
        frontier = self._frontier.copy()
        frontier.extend(sealed)
        if (len(sealed) != last - first + 1 or frontier.root() != checkpoint.root
                or root_of(sealed) != checkpoint.range_root):
            self._find(seq, "seal", f"its leaf list does not give its signed roots: the seal of {first}..{last} was "
                                    "altered")
            return
        if frontier.nodes != nodes:
            self._find(seq, "seal", "its recorded tree state differs from its leaves")
        chain, differs = self._chain, False
        for s, expected in zip(range(first, last + 1), sealed, strict=True):
            leaf = self._pending.pop(s, None)
            if leaf is None:
                self._absent.discard(s)
                self._late.add(s)
                self._find(s, "missing", f"sealed at seq {seq}, not in this copy")
                differs = True
            elif leaf != expected:
                self._find(s, "changed", f"differs from what the seal at seq {seq} signed")
                differs = True
            else:
                chain = chain_step(chain, leaf)
        if not differs and chain != checkpoint.chain:
            self._find(seq, "seal", "the hash chain recomputed differs from the signed one")
        self._frontier, self._chain, self._sealed = frontier, checkpoint.chain, last
        self.outcome.sealed_to = last
        self.outcome.leaves.extend(sealed)

    def _cosignatures(self, seq: int, note: Note, checkpoint: Checkpoint) -> None:
        for signature in note.signatures:
            if signature.name == self.log_key.name:
                continue
            witness = self.witnesses.get((signature.name, signature.key_hash))
            if witness is None:
                self.outcome.cosignatures.setdefault(f"{signature.name} (key not given: not checked)", 0)
                self.outcome.cosignatures[f"{signature.name} (key not given: not checked)"] += 1
                continue
            if cosignature_time(note.body, signature, witness) is None:
                self._find(seq, "cosignature", f"{witness.name}'s cosignature is not valid")
                continue
            self.outcome.cosignatures[witness.name] = self.outcome.cosignatures.get(witness.name, 0) + 1
            seen = self.outcome.witnessed.setdefault(witness.name, {})
            if seen.setdefault(checkpoint.size, checkpoint.root) != checkpoint.root:
                self._find(seq, "cosignature", f"{witness.name} cosigned two different roots for size "
                                               f"{checkpoint.size}: a forked history")

    def finish(self) -> Outcome:
        found = self.outcome
        if not self._anchored and found.messages:
            self._find(self.start, "seal", f"no seal ends at {self.start - 1}: this copy cannot be checked from "
                                           f"seq {self.start} (export ranges from a seal's end)")
        for s in sorted(self._absent):
            self._find(s, "missing", "not in this copy (a gap in the sequence)")
        found.unsealed = len(self._pending)
        found.findings.sort(key=lambda f: f.seq)
        return found
