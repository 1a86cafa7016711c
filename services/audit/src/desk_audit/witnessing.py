"""Asking witnesses to cosign a checkpoint (the sealer's side of the witness protocol).

A request carries the signed checkpoint, the tree size the witness last cosigned (`old_size`,
0 the first time) and a consistency proof from that size. A witness that remembers another size
answers 409 with it; the request is made once more from that size. A witness that does not
answer, or refuses, is named in the seal (`witnesses_missing`): the log never waits for it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from desk_audit.merkle import Tree
from desk_audit.notes import Checkpoint, Note, NoteError, Signature, VerifierKey, cosignature_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Witness:
    url: str
    key: VerifierKey


def cosign_request(note: Note, old_size: int, tree: Tree) -> dict[str, object]:
    size = Checkpoint.parse(note.body).size
    proof = tree.consistency_proof(old_size, size) if 0 < old_size <= size else []
    return {"checkpoint": note.text(), "old_size": old_size,
            "consistency": [base64.b64encode(p).decode() for p in proof]}


@dataclass
class Cosigner:
    witnesses: Sequence[Witness]
    timeout: float = 5.0

    async def cosign(self, note: Note, tree: Tree, sizes: Mapping[str, int]) -> tuple[Note, list[str]]:
        """The note with every cosignature obtained, and the witnesses that gave none (with why)."""
        missing: list[str] = []
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for witness in self.witnesses:
                try:
                    signature = await self._ask(client, witness, note, tree, sizes.get(witness.key.name, 0))
                    note = note.with_signature(signature)
                except (httpx.HTTPError, NoteError, ValueError, KeyError) as exc:
                    log.warning("witness %s did not cosign: %s", witness.key.name, exc)
                    missing.append(f"{witness.key.name}: {exc}"[:300])
        return note, missing

    async def _ask(self, client: httpx.AsyncClient, witness: Witness, note: Note, tree: Tree,
                   old_size: int) -> Signature:
        url = witness.url.rstrip("/") + "/v1/cosign"
        answer = await client.post(url, json=cosign_request(note, old_size, tree))
        if answer.status_code == 409 and isinstance(known := answer.json().get("size"), int):
            answer = await client.post(url, json=cosign_request(note, known, tree))
        if answer.status_code != 200:
            raise ValueError(f"HTTP {answer.status_code}: {answer.text[:200]}")
        signature = Note.parse(note.body + "\n" + answer.json()["cosignature"]).signatures[0]
        if cosignature_time(note.body, signature, witness.key) is None:
            raise ValueError("its cosignature does not verify with its key")
        return signature
