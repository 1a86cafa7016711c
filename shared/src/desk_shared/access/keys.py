"""Agencies' API keys: `dpk_<key id>_<secret>`, shown once, kept only as a digest.

The key id (12 hex digits) is public: logs, events and the operator's listings name it. The
secret is 32 random bytes (URL-safe base64); only its SHA-256 digest is kept, and a presented
key is checked against it in constant time.

The same key is the agency's NATS password, for the NATS user `dpk_<key id>`. nats-server checks
passwords only in clear or as bcrypt, so the registry also keeps a bcrypt verifier of the key: of a
256-bit random secret it tells a reader of the log as little as the SHA-256 digest does."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import bcrypt

PREFIX = "dpk"
"""Agencies' API keys. People's session tokens have the same shape with `dps` (`desk_shared.access.sessions`)."""




@dataclass(frozen=True)
class NewKey:
    token: str
    """The whole key, for its owner only: shown once, never stored."""
    key_id: str
    secret_sha256: str
    nats_bcrypt: str


@dataclass(frozen=True)
class PresentedKey:
    key_id: str
    secret: str


def new_token(prefix: str) -> tuple[str, str, str]:
    """A new `<prefix>_<id>_<secret>`: the token, its id and the SHA-256 of its secret."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"{prefix}_{key_id}_{secret}", key_id, secret_digest(secret)


def new_key() -> NewKey:
    token, key_id, digest = new_token(PREFIX)
    return NewKey(token, key_id, digest, bcrypt_verifier(token))


def nats_user(key_id: str) -> str:
    """The NATS user name of the key `key_id` (its password is the whole key)."""
    return f"{PREFIX}_{key_id}"


BCRYPT_COST = 10
"""nats-server checks the hash at each connect (about 0.07 s at cost 10): a random key needs no more."""


def bcrypt_verifier(password: str) -> str:
    """A bcrypt hash in the `$2a$` form nats-server reads."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST, prefix=b"2a")).decode()


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str, prefix: str = PREFIX) -> PresentedKey | None:
    """The parts of a well-formed key (or other token of `prefix`); None for anything else."""
    found = re.match(rf"^{prefix}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$", token.strip())  # re caches it
    return PresentedKey(found[1], found[2]) if found else None


def matches(key: PresentedKey, secret_sha256: str) -> bool:
    return hmac.compare_digest(secret_digest(key.secret), secret_sha256)
