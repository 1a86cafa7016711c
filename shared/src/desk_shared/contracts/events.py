"""The event catalogue: every event type of the system, by context, from one import."""

from desk_shared.contracts.agencies import (
    AgencyAreasChanged,
    AgencyKeyIssued,
    AgencyKeyRevoked,
    AgencyRegistered,
)
from desk_shared.contracts.alerts import (
    AlertDelivered,
    AlertDeliveredPayload,
    AlertFailed,
    AlertFailedPayload,
    AlertOutcomePayload,
    AlertRequested,
    AlertRequestedPayload,
)
from desk_shared.contracts.envelope import (
    EVENT_NAMESPACE,
    Actor,
    Contract,
    Event,
    KecamatanCode,
    UndecodableEvent,
    UnknownEventType,
    VillageCode,
    decode_event,
    derived_id,
    event_types,
    utc_now,
)
from desk_shared.contracts.incidents import IncidentEscalated, IncidentEscalatedPayload, Liaison
from desk_shared.contracts.people import (
    PersonDataErased,
    PersonDisabled,
    PersonRegistered,
    PersonRolesChanged,
)
from desk_shared.contracts.privacy import AccessRecorded
from desk_shared.contracts.reports import (
    ReportReporterErased,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    ReportTriagedPayload,
)

__all__ = [
    "EVENT_NAMESPACE",
    "AccessRecorded",
    "Actor",
    "AgencyAreasChanged",
    "AgencyKeyIssued",
    "AgencyKeyRevoked",
    "AgencyRegistered",
    "AlertDelivered",
    "AlertDeliveredPayload",
    "AlertFailed",
    "AlertFailedPayload",
    "AlertOutcomePayload",
    "AlertRequested",
    "AlertRequestedPayload",
    "Contract",
    "Event",
    "IncidentEscalated",
    "IncidentEscalatedPayload",
    "KecamatanCode",
    "Liaison",
    "PersonDataErased",
    "PersonDisabled",
    "PersonRegistered",
    "PersonRolesChanged",
    "ReportReporterErased",
    "ReportSubmitted",
    "ReportSubmittedPayload",
    "ReportTriaged",
    "ReportTriagedPayload",
    "UndecodableEvent",
    "UnknownEventType",
    "VillageCode",
    "decode_event",
    "derived_id",
    "event_types",
    "utc_now",
]
