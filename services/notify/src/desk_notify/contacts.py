"""Where each liaison's alerts go: a TOML file of `[[contact]]` entries, first match wins."""

from __future__ import annotations

import logging
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    match: str = Field(min_length=1, description="A liaison id, or a glob such as 'polsek:*' or '*'.")
    webhook: Annotated[str, Field(pattern=r"^https?://\S+$")]
    name: str | None = None

    @property
    def label(self) -> str:
        """How logs name the contact: never the webhook URL, which may carry a secret token."""
        return self.name or self.match


class ContactBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contact: tuple[Contact, ...] = ()

    def find(self, liaison_id: str) -> Contact | None:
        return next((c for c in self.contact if fnmatchcase(liaison_id, c.match)), None)

    @classmethod
    def load(cls, path: Path) -> ContactBook:
        with path.open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))


class ContactsFile:
    """The contact book of a file, re-read when the file changes (liaisons change during an
    election). The first read must succeed (a bad file stops the service at start); a later
    change that does not parse is reported and the last good book kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._book = ContactBook()
        self._mtime: float | None = None
        if path is not None:
            self._mtime = path.stat().st_mtime
            self._book = ContactBook.load(path)

    def book(self) -> ContactBook:
        if self.path is None:
            return self._book
        try:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                self._book = ContactBook.load(self.path)
                self._mtime = mtime
                log.info("contacts reloaded from %s (%d entries)", self.path, len(self._book.contact))
        except (OSError, ValueError) as exc:
            log.error("contacts file %s unusable, keeping the previous contacts: %s", self.path, exc)
        return self._book
