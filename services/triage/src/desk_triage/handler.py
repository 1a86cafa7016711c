"""The consumer's handler: decode a ReportSubmitted, decide, publish, return (then it is acked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.aio.msg import Msg

from desk_shared.bus import EventPublisher
from desk_shared.consuming import decode_as
from desk_shared.events import ReportSubmitted
from desk_shared.regions import RegionDirectory
from desk_triage.classifier import LinearModel, RuleSet, classify
from desk_triage.decisions import triage_events
from desk_triage.liaisons import kecamatan_liaisons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriageHandler:
    publisher: EventPublisher
    rules: RuleSet
    model: LinearModel | None
    directory: RegionDirectory
    producer: str

    async def __call__(self, msg: Msg) -> None:
        event = decode_as(msg, ReportSubmitted)
        if event is None:
            return
        report = event.payload
        classification = classify(report.text, report.category_hint, self.rules, self.model)
        liaisons = kecamatan_liaisons(report.kecamatan_code, self.directory)
        await self.publisher.publish_all(triage_events(event, classification, liaisons, self.producer))
