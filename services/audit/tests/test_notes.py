"""Keys, signed checkpoints and cosignatures: round trips, and every forgery refused."""

from __future__ import annotations

import pytest

from desk_audit.notes import (
    COSIGNATURE_KEY,
    Checkpoint,
    Note,
    NoteError,
    SigningKey,
    VerifierKey,
    cosign,
    cosignature_time,
    log_signature_valid,
    sign,
)

CHECKPOINT = Checkpoint("desk-pemilu/test/DESK_EVENTS", 1234, bytes(range(32)), bytes(32), 1001, bytes([7]) * 32)


@pytest.mark.parametrize("attempt", range(20))  # base64 with '+' and '/' in keys of every shape
def test_keys_read_back_from_their_text(attempt: int) -> None:
    key = SigningKey.generate("desk-pemilu/gayolues")
    assert SigningKey.parse(key.text() + "\n") == key
    assert VerifierKey.parse(key.verifier.text()) == key.verifier


def test_a_key_with_a_wrong_hash_or_name_is_refused() -> None:
    text = SigningKey.generate("desk").verifier.text()
    _, hash_hex, rest = text.split("+", 2)
    with pytest.raises(NoteError):
        VerifierKey.parse(f"other+{hash_hex}+{rest}")
    with pytest.raises(NoteError):
        SigningKey.generate("two words")
    with pytest.raises(NoteError):
        VerifierKey.parse("garbage")


def test_a_checkpoint_reads_back_and_its_signature_holds_only_for_its_text() -> None:
    key = SigningKey.generate("desk")
    note = sign(CHECKPOINT.body(), key)
    again = Note.parse(note.text())
    assert again == note and Checkpoint.parse(again.body) == CHECKPOINT
    assert log_signature_valid(again, key.verifier)
    assert not log_signature_valid(again, SigningKey.generate("desk").verifier)  # same name, other key
    forged = Note(again.body.replace("1234", "1235"), again.signatures)
    assert not log_signature_valid(forged, key.verifier)


def test_a_cosignature_holds_for_its_witness_and_text_only() -> None:
    log, witness = SigningKey.generate("desk"), SigningKey.generate("saksi", COSIGNATURE_KEY)
    note = sign(CHECKPOINT.body(), log)
    signature = cosign(note.body, witness, 1_765_000_000)
    cosigned = Note.parse(note.with_signature(signature).text())
    assert cosignature_time(cosigned.body, cosigned.signatures[1], witness.verifier) == 1_765_000_000
    assert cosignature_time(cosigned.body.replace("1234", "1235"), cosigned.signatures[1], witness.verifier) is None
    other = SigningKey.generate("saksi", COSIGNATURE_KEY).verifier
    assert cosignature_time(cosigned.body, cosigned.signatures[1], other) is None
    assert log_signature_valid(cosigned, log.verifier)


@pytest.mark.parametrize("text", ["", "no blank line\n", "a\n\nnot a signature\n", "a\n\n\u2014 name !!!\n"])
def test_unreadable_notes_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Note.parse(text)
