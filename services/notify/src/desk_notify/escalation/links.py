"""Acknowledgement links: a signed, expiring token naming the incident, the chain and the liaison
it was sent to, so a liaison acknowledges with one tap and no login.

The token is HMAC-SHA256 over its claims with a secret every notify replica shares (a setting),
so any replica checks a link another sent. Its expiry comes from the alert's time, not the
clock of the moment of sending: a retried alert carries the same link. The link itself never
enters the log (the log is read by auditors; a link is a credential)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SIGNATURE_BYTES = 16
_HEAD = struct.Struct(">16s16sq")


class BadLink(ValueError):
    """Not a link this desk made (altered, truncated, or signed with another secret)."""


class ExpiredLink(ValueError):
    pass


@dataclass(frozen=True)
class LinkClaim:
    incident_id: uuid.UUID
    chain_id: uuid.UUID
    liaison_id: str
    expires: datetime


@dataclass(frozen=True)
class AckLinks:
    secret: bytes
    base_url: str
    """Where notify's API is reached from a liaison's phone (`https://desk.example.go.id/notify`)."""
    valid_for: timedelta

    def token(self, claim: LinkClaim) -> str:
        body = _HEAD.pack(claim.incident_id.bytes, claim.chain_id.bytes, int(claim.expires.timestamp()))
        body += claim.liaison_id.encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def url(self, incident_id: uuid.UUID, chain_id: uuid.UUID, liaison_id: str, alerted_at: datetime) -> str:
        claim = LinkClaim(incident_id, chain_id, liaison_id, alerted_at + self.valid_for)
        return f"{self.base_url.rstrip('/')}/ack/{self.token(claim)}"

    def verify(self, token: str, now: datetime) -> LinkClaim:
        try:
            encoded, signature = token.split(".")
            body, given = _unb64(encoded), _unb64(signature)
            if not hmac.compare_digest(given, self._sign(body)) or len(body) <= _HEAD.size:
                raise BadLink("the link is not valid")
            incident, chain, expires = _HEAD.unpack_from(body)
            claim = LinkClaim(uuid.UUID(bytes=incident), uuid.UUID(bytes=chain), body[_HEAD.size:].decode(),
                              datetime.fromtimestamp(expires, UTC))
        except (ValueError, struct.error) as exc:
            if isinstance(exc, BadLink):
                raise
            raise BadLink("the link is not valid") from exc
        if claim.expires <= now:
            raise ExpiredLink(f"the link expired at {claim.expires.isoformat()}")
        return claim

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
