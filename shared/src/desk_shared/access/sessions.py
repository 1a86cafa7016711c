"""People's sessions and API tokens, shared by every replica of every service.

A token is `dps_<id>_<secret>` (the shape of agencies' keys). The key-value bucket
`settings.sessions_bucket` holds, under the token's id, whose it is, what kind, until when, and
the SHA-256 of its secret, never the token: a reader of the bucket cannot use a session. Any
replica finds a session another started; ending one (logout) ends it everywhere at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from desk_shared.access import keys
from desk_shared.runtime.buckets import open_bucket
from desk_shared.runtime.settings import BusSettings

PREFIX = "dps"
LONGEST_SECONDS = 90 * 24 * 3600
"""No session outlives this: the bucket forgets older entries by itself."""


class SessionKind(StrEnum):
    BROWSER = "browser"
    """Started by a login; carried in a cookie."""
    API = "api"
    """A bearer token a person made for a program."""


@dataclass(frozen=True)
class Session:
    token_id: str
    person_id: str
    kind: SessionKind
    expires_at: datetime
    secret_sha256: str

    def to_json(self) -> bytes:
        return json.dumps({"person": self.person_id, "kind": self.kind.value, "expires_at": self.expires_at.isoformat(),
                           "secret_sha256": self.secret_sha256}).encode()

    @classmethod
    def from_json(cls, token_id: str, data: bytes) -> Session:
        raw = json.loads(data)
        return cls(token_id, raw["person"], SessionKind(raw["kind"]), datetime.fromisoformat(raw["expires_at"]),
                   raw["secret_sha256"])


class Sessions:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, settings: BusSettings) -> Sessions:
        return cls(await open_bucket(js, settings.sessions_bucket, settings,
                                     "Desk Pemilu: people's sessions and API tokens (digests only)",
                                     max_age_seconds=LONGEST_SECONDS))

    async def start(self, person_id: str, kind: SessionKind, lifetime_seconds: float) -> tuple[str, Session]:
        """A new session; the token (for its owner only) and what is kept of it."""
        token, token_id, digest = keys.new_token(PREFIX)
        lifetime = min(lifetime_seconds, LONGEST_SECONDS)
        session = Session(token_id, person_id, kind, datetime.now(UTC) + timedelta(seconds=lifetime), digest)
        await self._kv.put(token_id, session.to_json())
        return token, session

    async def find(self, token: str) -> Session | None:
        """The live session `token` opens; None for a malformed, unknown, ended or expired one."""
        presented = keys.parse(token, PREFIX)
        if presented is None:
            return None
        try:
            entry = await self._kv.get(presented.key_id)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        session = Session.from_json(presented.key_id, entry.value)
        if not keys.matches(presented, session.secret_sha256) or session.expires_at <= datetime.now(UTC):
            return None
        return session

    async def end(self, token_id: str) -> None:
        await self._kv.purge(token_id)
