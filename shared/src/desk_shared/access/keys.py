"""Agencies' API keys: `dpk_<key id>_<secret>`, shown once, kept only as a digest.

The key id (12 hex digits) is public: logs, events and the operator's listings name it. The
secret is 32 random bytes (URL-safe base64); only its SHA-256 digest is kept, and a presented
key is checked against it in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "dpk"
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


@dataclass(frozen=True)
class NewKey:
    token: str
    """The whole key, for its owner only: shown once, never stored."""
    key_id: str
    secret_sha256: str


@dataclass(frozen=True)
class PresentedKey:
    key_id: str
    secret: str


def new_key() -> NewKey:
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return NewKey(f"{PREFIX}_{key_id}_{secret}", key_id, secret_digest(secret))


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> PresentedKey | None:
    """The parts of a well-formed key; None for anything else."""
    found = _TOKEN.match(token.strip())
    return PresentedKey(found[1], found[2]) if found else None


def matches(key: PresentedKey, secret_sha256: str) -> bool:
    return hmac.compare_digest(secret_digest(key.secret), secret_sha256)
