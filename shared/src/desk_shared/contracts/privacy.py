"""Personal data in the log: sealed with its data subject's key, and every reading of it recorded.

`Sealed` holds data encrypted with the key of one data subject (`desk_shared.privacy`): a
person of the desk, or the reporter of one report. `AccessRecorded` says who was shown whose
personal data, when and why: attributable, in the same tamper-evident log."""

from __future__ import annotations

from pydantic import Field

from desk_shared.contracts.envelope import Contract, Event


class Sealed(Contract):
    """Data encrypted with the key of one data subject (XSalsa20-Poly1305, base64)."""

    subject: str = Field(min_length=1, max_length=100, description="Whose key sealed it (a person's or report's id).")
    ciphertext: str = Field(min_length=1, max_length=20_000)


class AccessRecordedPayload(Contract):
    subjects: tuple[str, ...] = Field(min_length=1, description="Whose personal data was shown.")
    what: str = Field(min_length=1, max_length=200, examples=["reporter of incident 5f0c..."])
    erased: tuple[str, ...] = Field((), description="Subjects whose data was asked for but is erased.")


class AccessRecorded(Event):
    """Personal data was shown to the event's actor."""

    payload: AccessRecordedPayload
