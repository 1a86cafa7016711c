"""Crypto-shredding: personal data in the log is sealed with a key of its own data subject.

The keys live outside the log, in a JetStream key-value bucket that keeps one revision per key.
Erasing a subject purges its key: every copy of the log (mirrors, exports, backups) keeps its
events and seals, and the sealed data in them can no longer be opened by anyone. Sealing is
XSalsa20-Poly1305 (PyNaCl's SecretBox), so a changed ciphertext fails to open instead of
yielding wrong data."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from typing import TypeVar

import nacl.exceptions
import nacl.secret
import nacl.utils
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from desk_shared.contracts.envelope import Actor, Contract
from desk_shared.contracts.privacy import AccessRecorded, AccessRecordedPayload, Sealed
from desk_shared.runtime.buckets import open_bucket
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

C = TypeVar("C", bound=Contract)


def seal(key: bytes, subject: str, data: Contract) -> Sealed:
    """`data` sealed with `key`. The nonce is a keyed hash of the data, so the same data under the
    same key seals the same way (a resubmitted report is the same event); it reveals only that two
    seals of one subject hold equal data."""
    plain = data.model_dump_json().encode()
    nonce = hashlib.blake2b(plain, key=key, digest_size=nacl.secret.SecretBox.NONCE_SIZE).digest()
    return Sealed(subject=subject,
                  ciphertext=base64.b64encode(nacl.secret.SecretBox(key).encrypt(plain, nonce)).decode())


def unseal(key: bytes, sealed: Sealed, model: type[C]) -> C:
    """The data; `nacl.exceptions.CryptoError` if the key is not the one that sealed it or the
    ciphertext was changed."""
    plain = nacl.secret.SecretBox(key).decrypt(base64.b64decode(sealed.ciphertext))
    return model.model_validate_json(plain)


def opened(key: bytes | None, sealed: Sealed, model: type[C]) -> C | None:
    """`unseal`, or None without a key or when the data does not open with it."""
    if key is None:
        return None
    try:
        return unseal(key, sealed, model)
    except nacl.exceptions.CryptoError:
        log.warning("sealed data of %s does not open with its key", sealed.subject)
        return None


class SubjectKeys:
    """One key per data subject, kept in the bucket `settings.subject_keys_bucket`."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, settings: BusSettings) -> SubjectKeys:
        return cls(await open_bucket(js, settings.subject_keys_bucket, settings,
                                     "Desk Pemilu: one key per data subject; erasing a key erases their data"))

    async def key(self, subject: str) -> bytes | None:
        try:
            entry = await self._kv.get(subject)
        except KeyNotFoundError:
            return None
        return entry.value or None

    async def seal(self, subject: str, data: Contract) -> Sealed:
        """`data` sealed with the subject's key (created for a new subject)."""
        key = await self.key(subject)
        if key is None:
            key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
            try:
                await self._kv.create(subject, key)
            except KeyWrongLastSequenceError:  # another writer created it meanwhile: use theirs
                key = await self.key(subject)
                if key is None:
                    raise
        return seal(key, subject, data)

    async def unseal(self, sealed: Sealed, model: type[C]) -> C | None:
        """The data, or None once the subject was erased (or the data does not open)."""
        return opened(await self.key(sealed.subject), sealed, model)

    async def erase(self, subject: str) -> None:
        """Destroy the subject's key (every revision of it)."""
        await self._kv.purge(subject)


class Disclosure:
    """Showing personal data to a person: the reading is recorded in the log (`AccessRecorded`,
    with the person as actor) before anything is opened; no record, nothing shown."""

    def __init__(self, keys: SubjectKeys, publisher: EventPublisher, producer: str) -> None:
        self._keys = keys
        self._publisher = publisher
        self._producer = producer

    async def show(self, reader: Actor, sealed: Sealed, what: str, model: type[C]) -> C | None:
        """The data for `reader` (None once erased); raises `PublishFailed` if the log did not take the record."""
        return (await self.show_all(reader, [sealed], what, model))[0]

    async def show_all(self, reader: Actor, sealed: Sequence[Sealed], what: str, model: type[C]) -> list[C | None]:
        """`show` for several subjects at once, with one record."""
        if not sealed:
            return []
        keys = [await self._keys.key(s.subject) for s in sealed]
        record = AccessRecorded.decided(reader, self._producer, AccessRecordedPayload(
            subjects=tuple(s.subject for s in sealed), what=what,
            erased=tuple(s.subject for s, key in zip(sealed, keys, strict=True) if key is None)))
        await self._publisher.publish(record)
        return [opened(key, s, model) for s, key in zip(sealed, keys, strict=True)]
