"""Seals over the log (issue 20): what the log held up to a sequence, signed by the desk and
cosigned by witnesses of other agencies. The cryptography lives in the audit service
(`desk_audit`); the contract carries its results as text, so any reader can store and pass them."""

from __future__ import annotations

from pydantic import Field

from desk_shared.contracts.envelope import Contract, Event


class AuditSealedPayload(Contract):
    origin: str = Field(min_length=1, max_length=200, examples=["desk-pemilu/gayolues/DESK_EVENTS"])
    first: int = Field(ge=1, description="The first stream sequence this seal covers (the last seal's + 1).")
    last: int = Field(ge=1, description="The last stream sequence it covers: the tree's size.")
    checkpoint: str = Field(min_length=1, max_length=10_000,
                            description="The signed checkpoint (a signed note), with the witnesses' cosignatures.")
    leaves: str = Field(description="Base64 of the leaf hashes of first..last, 32 bytes each, in order.")
    frontier: tuple[str, ...] = Field(description="Base64 roots of the tree's perfect subtrees at `last`, largest "
                                                  "first: where a verifier of a later range starts.")
    witnesses_missing: tuple[str, ...] = Field((), description="Witnesses asked that did not cosign, and why.")


class AuditSealed(Event):
    """The audit service sealed the log up to `last`."""

    payload: AuditSealedPayload
