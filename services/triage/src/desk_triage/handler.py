"""The consumer's handler: decode a ReportSubmitted, decide, publish, return (then it is acked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.aio.msg import Msg

from desk_shared.bus import EventPublisher
from desk_shared.consuming import Poison
from desk_shared.events import ReportSubmitted, UndecodableEvent, UnknownEventType, decode_event
from desk_shared.regions import RegionDirectory
from desk_triage.classifier import RuleSet, classify
from desk_triage.decisions import triage_events
from desk_triage.liaisons import kecamatan_liaisons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriageHandler:
    publisher: EventPublisher
    rules: RuleSet
    directory: RegionDirectory
    producer: str

    async def __call__(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except UndecodableEvent as exc:
            raise Poison(str(exc)) from exc
        except UnknownEventType as exc:
            log.warning("ignoring event of unknown type %s on %s", exc, msg.subject)
            return
        if not isinstance(event, ReportSubmitted):
            log.warning("ignoring %s on %s", event.event_type, msg.subject)
            return
        report = event.payload
        classification = classify(report.text, report.category_hint, self.rules)
        liaisons = kecamatan_liaisons(report.kecamatan_code, self.directory)
        await self.publisher.publish_all(triage_events(event, classification, liaisons, self.producer))
