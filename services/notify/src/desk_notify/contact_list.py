"""Every notify replica's contact directory, folded from the log, and the contacts file turned
into events whenever it changes (read at start, then every few seconds). A file that does not
parse stops notify at start; a later broken edit is reported and changes nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from nats.js import JetStreamContext

from desk_notify.contacts import ContactFile, Directory, changes, contact_subject, evolve
from desk_shared.contracts import subjects
from desk_shared.contracts.contacts import ContactDetails, ContactPayload
from desk_shared.contracts.envelope import Actor
from desk_shared.privacy import SubjectKeys
from desk_shared.runtime.history import Follower
from desk_shared.runtime.process import sleep_unless
from desk_shared.runtime.publisher import EventPublisher, PublishFailed
from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


class ContactList:
    def __init__(self, js: JetStreamContext, bus: BusSettings, keys: SubjectKeys, path: Path | None,
                 producer: str) -> None:
        self._keys, self._path, self._producer = keys, path, producer
        self._follower = Follower.sequenced(js, bus.stream_name, subjects.CONTACT_EVENTS, Directory(),
                                            lambda d, e, _seq: evolve(d, e))
        self._mtime: float | None = None

    @property
    def directory(self) -> Directory:
        return self._follower.state

    async def start(self, publisher: EventPublisher) -> None:
        await self._follower.start()
        if self._path is not None:
            await self.apply(publisher, ContactFile.load(self._path))
            self._mtime = self._path.stat().st_mtime
        log.info("contacts: %d in the directory", len(self.directory.contacts))

    async def stop(self) -> None:
        await self._follower.stop()

    async def details(self, contact: ContactPayload) -> ContactDetails | None:
        """How to reach the contact (None once its data was erased)."""
        return await self._keys.unseal(contact.details, ContactDetails)

    async def apply(self, publisher: EventPublisher, wanted: ContactFile) -> int:
        """Append what changed; how many events that took."""
        sealed = {e.id: await self._keys.seal(contact_subject(e.id), e.details) for e in wanted.contact}
        events = changes(self.directory, wanted, sealed, Actor.service(self._producer), self._producer,
                         datetime.now(UTC))
        if events:
            acks = await publisher.publish_all(events)
            self._follower.fold_own([(e, a.seq) for e, a in zip(events, acks, strict=True) if not a.duplicate])
            log.info("contacts: %s", ", ".join(f"{e.event_type} {e.payload.contact_id}" for e in events))
        return len(events)

    async def watch(self, publisher: EventPublisher, stop: asyncio.Event) -> None:
        """Apply the file again whenever it changes, until `stop`."""
        while self._path is not None and not stop.is_set():
            await sleep_unless(stop, CHECK_SECONDS)
            try:
                mtime = self._path.stat().st_mtime
                if mtime != self._mtime:
                    self._mtime = mtime
                    await self.apply(publisher, ContactFile.load(self._path))
            except (OSError, ValueError) as exc:
                log.error("contacts file %s unusable, the directory stays as it is: %s", self._path, exc)
            except PublishFailed as exc:
                self._mtime = None  # try again next time
                log.warning("contacts file %s not applied yet: %s", self._path, exc)
