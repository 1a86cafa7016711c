"""Events about the contacts notify alerts: who serves which liaison position (`polsek:11.13.01`,
`kodim:11.13`) and through which channels, in the order they are tried.

Names, phone numbers, e-mail addresses, chat ids and webhook URLs (which may hold a token) are
personal or secret: they travel only sealed with the contact's own key (`desk_shared.privacy`);
what a contact serves and its label (a unit, not a person: "Polsek Blangkejeren, piket") are
open, so the log shows who was responsible for what without showing how to reach them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from desk_shared.contracts.envelope import Contract, Event
from desk_shared.contracts.privacy import Sealed

ChannelKind = Literal["webhook", "email", "telegram", "sms", "whatsapp"]
CONTACT_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,79}$"

_ADDRESS = {
    "webhook": (r"^https?://\S+$", "an http(s) URL"),
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an e-mail address"),
    "telegram": (r"^-?\d{1,20}$|^@[A-Za-z0-9_]{5,32}$", "a Telegram chat id (digits) or @channel"),
    "sms": (r"^\+?[0-9 ()-]{8,20}$", "a phone number"),
    "whatsapp": (r"^\+?[0-9 ()-]{8,20}$", "a phone number"),
}


class Channel(Contract):
    kind: ChannelKind
    address: str = Field(min_length=1, max_length=500)
    secret: str | None = Field(None, min_length=16, max_length=200,
                               description="A webhook's signing secret (else notify's default one).")

    @model_validator(mode="after")
    def _address_fits_kind(self) -> Channel:
        pattern, what = _ADDRESS[self.kind]
        if not re.match(pattern, self.address):
            raise ValueError(f"a {self.kind} channel's address must be {what}, not {self.address!r}")
        if self.secret is not None and self.kind != "webhook":
            raise ValueError("only a webhook channel has a signing secret")
        return self


class ContactDetails(Contract):
    """What a contact's sealed data holds."""

    name: str | None = Field(None, max_length=200, examples=["AKP Rahmat Hidayat (Kapolsek)"])
    channels: tuple[Channel, ...] = Field(min_length=1, description="Tried in this order until one delivers.")


class ContactPayload(Contract):
    contact_id: str = Field(pattern=CONTACT_ID_PATTERN, examples=["polsek-blangkejeren"])
    rank: int = Field(ge=0, description="Its place in the contact list: the first contact serving a position wins.")
    serves: tuple[str, ...] = Field(min_length=1, examples=[["polsek:11.13.01"], ["kodim:*"]],
                                    description="Liaison ids, or globs of them.")
    label: str = Field(min_length=1, max_length=200, examples=["Polsek Blangkejeren, piket"])
    details: Sealed


class ContactRegistered(Event):
    payload: ContactPayload


class ContactChanged(Event):
    """What the contact serves, its place in the list, its label or its sealed details changed."""

    payload: ContactPayload


class ContactRemovedPayload(Contract):
    contact_id: str = Field(pattern=CONTACT_ID_PATTERN)


class ContactRemoved(Event):
    payload: ContactRemovedPayload


CONTACT_EVENTS = (ContactRegistered, ContactChanged, ContactRemoved)
