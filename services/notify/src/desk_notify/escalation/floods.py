"""No floods (pure): many non-critical escalations in one kecamatan within minutes reach a liaison
as one digest with a count, and no liaison gets more than a limit of alerts in a window. A
kritis alert is never held, nor a step of a kritis chain, nor the desk's notices.

Each recipient's load is folded from the log (`note`): the alerts sent to it lately and the
ones held for it. `hold` decides, by event time, which of a chain's new alerts wait;
`digests` says which held alerts are due to go out together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pyrsistent import PMap

from desk_shared.contracts.alerts import (
    AlertHeld,
    AlertHeldPayload,
    AlertRequested,
    AlertRequestedPayload,
    GroupedAlert,
)
from desk_shared.contracts.envelope import Actor, Event, derived_id
from desk_shared.contracts.taxonomy import Severity

KEEP = timedelta(hours=1)
"""How long a sent alert counts in a recipient's load (the longest window a setting may ask for)."""


@dataclass(frozen=True)
class FloodRules:
    group_seconds: float = 120.0
    """A non-critical alert to a recipient who had one about the same kecamatan this recently waits
    this long, to go out with the others held by then."""
    window_seconds: float = 600.0
    limit: int = 10
    """Alerts sent to one recipient within the window before the non-critical ones wait."""


@dataclass(frozen=True)
class Load:
    sent: tuple[tuple[datetime, str | None], ...] = ()
    """When each recent alert was sent to the recipient, and its kecamatan."""
    held: tuple[AlertHeldPayload, ...] = ()


Loads = PMap[str, Load]


def note(loads: Loads, event: Event) -> Loads:
    """Fold an alert into its recipient's load."""
    match event:
        case AlertRequested(payload=p):
            load = loads.get(p.liaison.id, Load())
            since = event.occurred_at - KEEP
            sent = (*(s for s in load.sent if s[0] >= since), (event.occurred_at, p.kecamatan_code))
            released = {g.alert_id for g in p.grouped}
            held = tuple(h for h in load.held if h.alert_id not in released) if released else load.held
            return loads.set(p.liaison.id, Load(sent, held))
        case AlertHeld(payload=p):
            load = loads.get(p.liaison.id, Load())
            return loads.set(p.liaison.id, replace(load, held=(*load.held, p)))
    return loads


def may_wait(alert: AlertRequestedPayload) -> bool:
    """A non-critical alert of a chain may wait; kritis, the desk's notices and digests never do."""
    incident = alert.incident
    return (incident is not None and incident.severity != Severity.KRITIS and alert.chain_id is not None
            and alert.undelivered is None and not alert.grouped)


def hold(loads: Loads, alerts: Sequence[AlertRequested], rules: FloodRules) -> list[Event]:
    """The alerts as they go: each sent, or held (`AlertHeld`, same id) when its recipient just had
    one about the same kecamatan, or had the limit of alerts within the window."""
    out: list[Event] = []
    for alert in alerts:
        p = alert.payload
        load = loads.get(p.liaison.id, Load())
        reason = _reason(load, alert.occurred_at, p.kecamatan_code, rules) if may_wait(p) else None
        if reason is None:
            out.append(alert)
            continue
        release = (load.held[0].release_at if load.held
                   else alert.occurred_at + timedelta(seconds=rules.group_seconds))
        out.append(AlertHeld(**alert.model_dump(exclude={"payload"}), payload=AlertHeldPayload(
            **p.model_dump(), release_at=release, reason=reason)))
    return out


def _reason(load: Load, at: datetime, kecamatan: str | None, rules: FloodRules) -> str | None:
    if load.held:
        return "grouped"  # others wait already: this one joins them
    recent = [k for t, k in load.sent if at - t < timedelta(seconds=rules.group_seconds)]
    if kecamatan in recent:
        return "grouped"
    if sum(1 for t, _ in load.sent if at - t < timedelta(seconds=rules.window_seconds)) >= rules.limit:
        return "flood_limit"
    return None


def digests(loads: Loads, now: datetime, producer: str,
            text: Callable[[Sequence[AlertHeldPayload]], str]) -> list[AlertRequested]:
    """One alert per recipient whose held alerts are due, summing them up (`text`)."""
    out = []
    for liaison_id, load in sorted(loads.items()):
        if not load.held or load.held[0].release_at > now:
            continue
        first = load.held[0]
        grouped = tuple(GroupedAlert(alert_id=h.alert_id, incident_id=h.incident_id, chain_id=h.chain_id)
                        for h in load.held)
        digest_id = derived_id(":".join(str(g.alert_id) for g in grouped), f"digest:{liaison_id}")
        payload = AlertRequestedPayload(alert_id=digest_id, incident_id=None, liaison=first.liaison,
                                        message=text(load.held), grouped=grouped)
        out.append(AlertRequested(event_id=digest_id, occurred_at=first.release_at, recorded_at=now,
                                  correlation_id=digest_id, producer=producer, actor=Actor.service(producer),
                                  payload=payload))
    return out
