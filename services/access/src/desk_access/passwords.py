"""People's passwords (argon2id hashes) and failed-login counts, in the logins bucket: never in the log.

A login name that does not exist costs the same hash check as one that does, and its failures
are counted the same way, so the answers tell nobody which login names exist."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from desk_shared.runtime.buckets import open_bucket
from desk_shared.runtime.settings import BusSettings

HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106's second recommended setting)."""
_UNKNOWN = HASHER.hash("no such person: the check costs the same")


async def logins_bucket(js: JetStreamContext, settings: BusSettings) -> KeyValue:
    return await open_bucket(js, settings.logins_bucket, settings,
                             "Desk Pemilu: password hashes and failed-login counts (never the log)")


class Passwords:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def set(self, person_id: str, password: str) -> None:
        hashed = await asyncio.to_thread(HASHER.hash, password)
        await self._kv.put(f"password.{person_id}", hashed.encode())

    async def check(self, person_id: str | None, password: str) -> bool:
        stored = _UNKNOWN
        if person_id is not None:
            try:
                entry = await self._kv.get(f"password.{person_id}")
                stored = entry.value.decode() if entry.value else _UNKNOWN
            except KeyNotFoundError:
                pass
        try:
            await asyncio.to_thread(HASHER.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if stored is _UNKNOWN:
            return False
        if HASHER.check_needs_rehash(stored):
            await self.set(person_id, password)  # type: ignore[arg-type]
        return True


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int
    window_seconds: float
    lockout_seconds: float


class Lockout:
    """Failed logins per login name; after `max_failures` within the window the name is locked
    (even the right password is refused) until `lockout_seconds` after the last failure."""

    def __init__(self, kv: KeyValue, policy: LockoutPolicy) -> None:
        self._kv = kv
        self._policy = policy

    @staticmethod
    def _key(login: str) -> str:
        return "failures." + hashlib.sha256(login.encode()).hexdigest()[:40]

    async def _read(self, login: str) -> tuple[dict, int]:
        try:
            entry = await self._kv.get(self._key(login))
        except KeyNotFoundError:
            return {}, 0
        return (json.loads(entry.value) if entry.value else {}), entry.revision or 0

    async def locked_for(self, login: str) -> float:
        """Seconds the login stays locked; 0 if it is not."""
        state, _ = await self._read(login)
        return max(0.0, state.get("locked_until", 0.0) - time.time())

    async def failed(self, login: str) -> float:
        """Count a failure; the seconds the login is now locked (0 if not)."""
        policy = self._policy
        for _ in range(10):  # another replica may count at the same moment
            state, revision = await self._read(login)
            now = time.time()
            if now - state.get("first", 0.0) > policy.window_seconds:
                state = {"first": now, "count": 0}
            state["count"] = state.get("count", 0) + 1
            if state["count"] >= policy.max_failures:
                state["locked_until"] = now + policy.lockout_seconds
            try:
                if revision:
                    await self._kv.update(self._key(login), json.dumps(state).encode(), last=revision)
                else:
                    await self._kv.create(self._key(login), json.dumps(state).encode())
            except KeyWrongLastSequenceError:
                continue
            return max(0.0, state.get("locked_until", 0.0) - now)
        raise RuntimeError(f"failed logins of {login!r} could not be counted")

    async def cleared(self, login: str) -> None:
        await self._kv.purge(self._key(login))
