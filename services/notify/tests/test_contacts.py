"""Matching liaisons to webhooks, and the contacts file."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import ValidationError

from desk_notify.contacts import Contact, ContactBook, ContactsFile

BOOK = ContactBook(contact=(
    Contact(match="polsek:11.13.01", webhook="https://a.example/1", name="piket"),
    Contact(match="polsek:*", webhook="https://a.example/polres"),
    Contact(match="koramil:11.13.*", webhook="https://a.example/kodim"),
))


@pytest.mark.parametrize(("liaison", "webhook"), [
    ("polsek:11.13.01", "https://a.example/1"),  # exact entry listed first wins over the glob
    ("polsek:11.13.02", "https://a.example/polres"),
    ("koramil:11.13.05", "https://a.example/kodim"),
    ("koramil:17.04.01", None),
])
def test_first_match_wins(liaison: str, webhook: str | None) -> None:
    found = BOOK.find(liaison)
    assert (found.webhook if found else None) == webhook


def test_star_matches_everyone_and_labels_never_show_the_url() -> None:
    book = ContactBook(contact=(Contact(match="*", webhook="https://a.example/secret-token"),))
    found = book.find("babinsa:11.13.01")
    assert found is not None and found.label == "*"


def test_example_file_ships_and_parses() -> None:
    example = Path(str(files("desk_notify").joinpath("contacts.example.toml")))
    book = ContactBook.load(example)
    assert book.find("polsek:11.13.01").name == "Polsek Blangkejeren - piket"  # type: ignore[union-attr]
    assert book.find("anything:else") is not None


def test_bad_entries_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Contact(match="*", webhook="ftp://nope")
    with pytest.raises(ValidationError):
        ContactBook.model_validate({"contact": [{"match": "*", "webhook": "https://x", "url": "typo"}]})


def test_file_is_reread_on_change_and_a_broken_change_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "contacts.toml"
    path.write_text('[[contact]]\nmatch = "*"\nwebhook = "https://one.example"\n')
    contacts = ContactsFile(path)
    assert contacts.book().find("x").webhook == "https://one.example"  # type: ignore[union-attr]

    path.write_text('[[contact]]\nmatch = "*"\nwebhook = "https://two.example"\n')
    os.utime(path, (1, 1))
    assert contacts.book().find("x").webhook == "https://two.example"  # type: ignore[union-attr]

    path.write_text("[[contact]\nbroken")
    os.utime(path, (2, 2))
    assert contacts.book().find("x").webhook == "https://two.example"  # type: ignore[union-attr]


def test_no_file_means_no_contacts() -> None:
    assert ContactsFile(None).book().find("polsek:11.13.01") is None
