"""Keys, signed checkpoints and cosignatures, in the spirit of C2SP's signed-note, tlog-checkpoint and
tlog-cosignature: a checkpoint is a short text (origin, tree size, root, and the desk's extension
lines), signed with Ed25519 by the log; a witness adds its own signature line over the same text.

    desk-pemilu/gayolues/DESK_EVENTS
    1234
    <base64 root>
    chain <base64 hash-chain head>
    range 1001 1234 <base64 root of leaves 1001..1234>

    — desk-pemilu/gayolues <base64(key hash || signature)>
    — bawaslu-gayolues <base64(key hash || time || signature)>

A public key is published as `<name>+<key hash hex>+<base64(type || key)>`; the key hash is the
first four bytes of SHA-256(name, newline, type, key), type 0x01 for the log's Ed25519 key and
0x04 for a witness's cosignature key (which signs `cosignature/v1`, the time, and the text)."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

LOG_KEY = 0x01
COSIGNATURE_KEY = 0x04
DASH = "\u2014"
PRIVATE_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A key, note or checkpoint that cannot be read."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise NoteError(f"{what} is not base64") from exc


def _key_hash(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name has no spaces or '+': {name!r}")
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    kind: int
    public: bytes

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.kind, self.public)

    def text(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{_b64(bytes([self.kind]) + self.public)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        name, hash_hex, rest = [*text.strip().split("+", 2), "", ""][:3]
        raw = _unb64(rest, "the public key")
        if len(raw) != 33 or raw[0] not in (LOG_KEY, COSIGNATURE_KEY):
            raise NoteError(f"not a public key: {text.strip()[:80]!r}")
        key = cls(_check_name(name), raw[0], raw[1:])
        if key.key_hash.hex() != hash_hex:
            raise NoteError(f"public key {name!r}: its hash does not match the key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            nacl.signing.VerifyKey(self.public).verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    name: str
    kind: int
    seed: bytes

    @classmethod
    def generate(cls, name: str, kind: int = LOG_KEY) -> SigningKey:
        return cls(_check_name(name), kind, bytes(nacl.signing.SigningKey.generate()))

    def text(self) -> str:
        return f"{PRIVATE_PREFIX}{self.name}+{self.verifier.key_hash.hex()}+{_b64(bytes([self.kind]) + self.seed)}"

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        if not text.startswith(PRIVATE_PREFIX):
            raise NoteError("not a private key (it starts with PRIVATE+KEY+)")
        name, _, rest = [*text.strip()[len(PRIVATE_PREFIX):].split("+", 2), "", ""][:3]
        raw = _unb64(rest, "the private key")
        if len(raw) != 33 or raw[0] not in (LOG_KEY, COSIGNATURE_KEY):
            raise NoteError("not a private key")
        return cls(_check_name(name), raw[0], raw[1:])

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.kind, bytes(nacl.signing.SigningKey(self.seed).verify_key))

    def sign(self, message: bytes) -> bytes:
        return nacl.signing.SigningKey(self.seed).sign(message).signature


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    chain: bytes
    first: int
    range_root: bytes

    def body(self) -> str:
        return (f"{self.origin}\n{self.size}\n{_b64(self.root)}\nchain {_b64(self.chain)}\n"
                f"range {self.first} {self.size} {_b64(self.range_root)}\n")

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        try:
            origin, size, root, chain, sealed, tail = lines
            chain_word, chain_b64 = chain.split(" ")
            range_word, first, last, range_b64 = sealed.split(" ")
            if chain_word != "chain" or range_word != "range" or tail or last != size:
                raise ValueError("unexpected lines")
            found = cls(origin, int(size), _unb64(root, "root"), _unb64(chain_b64, "chain"), int(first),
                        _unb64(range_b64, "range root"))
        except ValueError as exc:
            raise NoteError(f"not a checkpoint: {exc}") from exc
        if not 1 <= found.first <= found.size:
            raise NoteError(f"not a checkpoint: range {found.first}..{found.size}")
        return found


@dataclass(frozen=True)
class Signature:
    name: str
    key_hash: bytes
    value: bytes

    def line(self) -> str:
        return f"{DASH} {self.name} {_b64(self.key_hash + self.value)}\n"


@dataclass(frozen=True)
class Note:
    body: str
    signatures: tuple[Signature, ...]

    def text(self) -> str:
        return self.body + "\n" + "".join(s.line() for s in self.signatures)

    @classmethod
    def parse(cls, text: str) -> Note:
        body, sep, rest = text.partition("\n\n")
        if not sep or not rest.endswith("\n"):
            raise NoteError("not a signed note: no blank line before the signatures")
        found = []
        for line in rest[:-1].split("\n"):
            dash, name, value = [*line.split(" "), "", ""][:3]
            raw = _unb64(value, "a signature")
            if dash != DASH or len(raw) < 5:
                raise NoteError(f"not a signature line: {line[:60]!r}")
            found.append(Signature(name, raw[:4], raw[4:]))
        return cls(body + "\n", tuple(found))

    def signed_by(self, key: VerifierKey) -> list[Signature]:
        return [s for s in self.signatures if s.name == key.name and s.key_hash == key.key_hash]

    def with_signature(self, signature: Signature) -> Note:
        return Note(self.body, (*self.signatures, signature))


def sign(body: str, key: SigningKey) -> Note:
    return Note(body, (Signature(key.name, key.verifier.key_hash, key.sign(body.encode())),))


def log_signature_valid(note: Note, key: VerifierKey) -> bool:
    return any(key.verify(note.body.encode(), s.value) for s in note.signed_by(key))


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + body.encode()


def cosign(body: str, key: SigningKey, timestamp: int) -> Signature:
    value = struct.pack(">Q", timestamp) + key.sign(_cosigned_message(body, timestamp))
    return Signature(key.name, key.verifier.key_hash, value)


def cosignature_time(body: str, signature: Signature, key: VerifierKey) -> int | None:
    """The time a witness cosigned, if `signature` is its valid cosignature of `body`; else None."""
    if signature.name != key.name or signature.key_hash != key.key_hash or len(signature.value) != 72:
        return None
    timestamp = struct.unpack(">Q", signature.value[:8])[0]
    return timestamp if key.verify(_cosigned_message(body, timestamp), signature.value[8:]) else None
