"""Acknowledgement links: `<base>/ack/<code>`, the code a keyed hash (HMAC-SHA256, 72 bits) of the
chain and the liaison it was sent to, so a liaison acknowledges with one tap and no login, and
the link is short enough for an SMS.

Any replica checks a code another sent (the secret is a setting they share) by finding the
running chain and recipient it names; a code of a chain that ended or was replaced, or one made
up, names none. A link expires `valid_for` after its chain started. The link never enters the
log (the log is read by auditors; a link is a credential)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk_notify.escalation.chains import Chain, Chains

CODE_CHARACTERS = 12


class ExpiredLink(ValueError):
    pass


@dataclass(frozen=True)
class AckLinks:
    secret: bytes
    base_url: str
    """Where notify's API is reached from a liaison's phone (`https://desk.example.go.id/notify`)."""
    valid_for: timedelta

    def code(self, chain_id: uuid.UUID, liaison_id: str) -> str:
        digest = hmac.new(self.secret, f"{chain_id}|{liaison_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:CODE_CHARACTERS]

    def url(self, chain_id: uuid.UUID, liaison_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/ack/{self.code(chain_id, liaison_id)}"

    def find(self, chains: Chains, code: str, now: datetime) -> tuple[Chain, str] | None:
        """The running chain and the liaison a code names (None: no such link); `ExpiredLink` if
        its time is over."""
        if len(code) != CODE_CHARACTERS:
            return None
        for chain in chains.by_incident.values():
            s = chain.started
            for liaison in {r.id for step in s.steps for r in step.recipients} | {r.id for r in s.exhausted}:
                if hmac.compare_digest(self.code(s.chain_id, liaison), code):
                    if chain.started_at + self.valid_for <= now:
                        raise ExpiredLink(f"the link expired at {(chain.started_at + self.valid_for).isoformat()}")
                    return chain, liaison
        return None
