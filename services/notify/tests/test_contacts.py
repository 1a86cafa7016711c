"""The contact list: the file (both forms), the directory folded from events, the first serving
contact winning, and the events a changed file makes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import ValidationError

from desk_notify.contacts import ContactEntry, ContactFile, Directory, changes, evolve
from desk_shared.contracts.contacts import Channel, ContactChanged, ContactRegistered, ContactRemoved
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.privacy import Sealed

NOW = datetime(2027, 2, 14, 3, 0, tzinfo=UTC)
ACTOR = Actor.service("notify")


def fake_seal(wanted: ContactFile, salt: str = "") -> dict[str, Sealed]:
    """Stands in for sealing (tested in desk_shared): equal details seal equally."""
    return {e.id: Sealed(subject=f"contact:{e.id}", ciphertext=e.details.model_dump_json() + salt)
            for e in wanted.contact}


def applied(directory: Directory, wanted: ContactFile, salt: str = "") -> tuple[Directory, list]:
    events = changes(directory, wanted, fake_seal(wanted, salt), ACTOR, "notify", NOW)
    for event in events:
        directory = evolve(directory, event)
    return directory, events


FILE = ContactFile.model_validate({"contact": [
    {"id": "polsek-1", "serves": ["polsek:11.13.01"], "label": "Polsek Blangkejeren, piket",
     "channels": [{"kind": "webhook", "address": "https://a.example/1"}, {"kind": "sms", "address": "+6281200001"}]},
    {"match": "polsek:*", "webhook": "https://a.example/polres"},  # the first form
    {"id": "kodim", "serves": ["koramil:11.13.*", "kodim:11.13"], "label": "Kodim 0113",
     "channels": [{"kind": "email", "address": "piket@kodim.example.go.id"}]},
]})


@pytest.mark.parametrize(("liaison", "contact"), [
    ("polsek:11.13.01", "polsek-1"),  # listed first: wins over the pattern
    ("polsek:11.13.02", "polsek-all"),
    ("koramil:11.13.05", "kodim"),
    ("kodim:11.13", "kodim"),
    ("koramil:17.04.01", None),
])
def test_the_first_contact_serving_a_position_wins(liaison: str, contact: str | None) -> None:
    directory, events = applied(Directory(), FILE)
    assert [type(e) for e in events] == [ContactRegistered] * 3
    found = directory.find(liaison)
    assert (found.contact_id if found else None) == contact


def test_the_first_form_is_a_contact_with_one_webhook() -> None:
    entry = FILE.contact[1]
    assert (entry.id, entry.serves, entry.label) == ("polsek-all", ("polsek:*",), "polsek:*")
    assert entry.channels == (Channel(kind="webhook", address="https://a.example/polres"),)


def test_a_changed_file_makes_only_its_changes_and_the_same_ids_on_every_replica() -> None:
    directory, _ = applied(Directory(), FILE)
    assert applied(directory, FILE)[1] == []  # nothing changed, nothing appended
    changed = ContactFile(contact=(FILE.contact[2], FILE.contact[0]))  # reordered, one removed
    after, events = applied(directory, changed)
    assert [(type(e), e.payload.contact_id) for e in events] == [
        (ContactChanged, "kodim"), (ContactChanged, "polsek-1"), (ContactRemoved, "polsek-all")]
    again = changes(directory, changed, fake_seal(changed), ACTOR, "notify", NOW)
    assert [e.event_id for e in again] == [e.event_id for e in events]
    assert after.find("polsek:11.13.02") is None
    back, events = applied(after, FILE)  # back as it was: new events, not the first ones again
    assert {e.event_id for e in events}.isdisjoint({e.event_id for e in applied(Directory(), FILE)[1]})
    assert back.find("polsek:11.13.02").contact_id == "polsek-all"  # type: ignore[union-attr]
    _, details_changed = applied(back, FILE, salt="x")
    assert [type(e) for e in details_changed] == [ContactChanged] * 3


def test_bad_entries_are_refused() -> None:
    with pytest.raises(ValidationError, match="http"):
        ContactEntry.model_validate({"match": "*", "webhook": "ftp://nope"})
    with pytest.raises(ValidationError):
        ContactFile.model_validate({"contact": [{"match": "*", "webhook": "https://x", "url": "typo"}]})
    with pytest.raises(ValidationError, match="phone number"):
        Channel(kind="sms", address="nomor saya")
    with pytest.raises(ValidationError, match="two contacts"):
        ContactFile.model_validate({"contact": [{"match": "*", "webhook": "https://x"},
                                                {"match": "*", "webhook": "https://y"}]})
    with pytest.raises(ValidationError, match="signing secret"):
        Channel(kind="email", address="a@b.id", secret="s" * 20)


def test_example_file_ships_and_parses() -> None:
    example = ContactFile.load(Path(str(files("desk_notify").joinpath("contacts.example.toml"))))
    directory, _ = applied(Directory(), example)
    assert directory.find("polsek:11.13.01").label == "Polsek Blangkejeren - piket"  # type: ignore[union-attr]
    assert directory.find("kodim:11.13").contact_id == "kodim-0113"  # type: ignore[union-attr]
    assert directory.find("anything:else") is not None
