"""Who may do what on NATS: users and permissions generated from the registry and the desk's roles.

Every user gets an allow-list (anything not listed is refused) and its own reply inbox
(`_INBOX.<user>.>`, so no one listens to another's answers):

- an agency key: publish its agency's intake subject, nothing else;
- a service: its own events, its durable consumer, its position, its dead letters, reading the log
  through consumers of its own; the JetStream API calls for exactly that;
- the auditor: reads both streams (consumers of its own, single messages) and changes nothing;
- the mirror: the auditors' own nats-server, connected as a leaf node, mirrors the event stream
  (creates its mirror's consumer through the desk's JetStream domain, and nothing else);
- the operator: everything, and the only one who may delete, purge or update a stream.

Ephemeral consumers have generated names, and a subject permission cannot match a name prefix: a
reader may use any consumer of the stream except the services' durable ones, which are denied
by name (deny wins). Pure functions; `render` gives the nats-server `authorization` block."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from desk_shared.access import keys
from desk_shared.access.registry import Registry
from desk_shared.contracts import subjects
from desk_shared.contracts.alerts import AlertDelivered, AlertFailed, AlertRequested
from desk_shared.contracts.audit import AuditSealed
from desk_shared.contracts.contacts import CONTACT_EVENTS
from desk_shared.contracts.envelope import Event
from desk_shared.contracts.escalation import ESCALATION_EVENTS
from desk_shared.contracts.incidents import INCIDENT_EVENTS, IncidentUrgencyConfirmed, IncidentUrgencyDismissed
from desk_shared.contracts.privacy import AccessRecorded
from desk_shared.contracts.reports import ReportSubmitted, ReportTriaged
from desk_shared.runtime.settings import BusSettings

API = "$JS.API"
OPERATOR = "operator"
AUDITOR = "auditor"
MIRROR = "mirror"


@dataclass(frozen=True)
class ServiceNeeds:
    publishes: tuple[type[Event], ...] = ()
    durable: str | None = None
    """Its durable consumer: acks, a position in the positions bucket, dead letters."""
    reads_log: bool = False
    """Reads the log through ephemeral consumers (a projection's reader, a follower of the registry)."""
    dead_letters: str | None = None
    answers: tuple[str, ...] = ()
    """Request-reply subjects it serves (it may answer any request it receives)."""
    asks: tuple[str, ...] = ()
    """Request-reply subjects it sends requests to."""
    reads_buckets: tuple[str, ...] = ()
    writes_buckets: tuple[str, ...] = ()
    """Key-value buckets it reads or writes, named by their `BusSettings` field (`sessions_bucket`)."""


SERVICES: Mapping[str, ServiceNeeds] = {
    "intake": ServiceNeeds(publishes=(ReportSubmitted,), reads_log=True, answers=(subjects.INTAKE_REPORTS,),
                           writes_buckets=("subject_keys_bucket",)),
    "triage": ServiceNeeds(publishes=(ReportTriaged, *INCIDENT_EVENTS, IncidentUrgencyConfirmed,
                                      IncidentUrgencyDismissed), durable="triage", reads_log=True,
                           reads_buckets=("sessions_bucket",), answers=(subjects.TRIAGE_COMMAND,)),
    "projection": ServiceNeeds(publishes=(AccessRecorded,), reads_log=True, dead_letters="projection",
                               reads_buckets=("sessions_bucket", "subject_keys_bucket"),
                               asks=(subjects.ACCESS_LOGIN, subjects.ACCESS_LOGOUT, subjects.TRIAGE_COMMAND)),
    "notify": ServiceNeeds(publishes=(AlertRequested, AlertDelivered, AlertFailed, *ESCALATION_EVENTS,
                                      *CONTACT_EVENTS), durable="notify", reads_log=True,
                           reads_buckets=("sessions_bucket",),
                           writes_buckets=("subject_keys_bucket", "alert_attempts_bucket")),
    "audit": ServiceNeeds(publishes=(AuditSealed,), reads_log=True),
    "access": ServiceNeeds(reads_log=True, writes_buckets=("sessions_bucket", "logins_bucket"),
                           answers=(subjects.ACCESS_LOGIN, subjects.ACCESS_LOGOUT)),
}
"""Each service's NATS user and what it does on the bus (its consumer names are its settings' defaults)."""

ROLES = (OPERATOR, AUDITOR, MIRROR, *SERVICES)
"""The users with a password of their own (agencies' users come from the registry)."""


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...] = ()
    publish_deny: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    responses: bool = False

    def config(self) -> dict[str, object]:
        publish: dict[str, object] = {"allow": list(self.publish)}
        if self.publish_deny:
            publish["deny"] = list(self.publish_deny)
        found: dict[str, object] = {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}
        if self.responses:
            found["allow_responses"] = True
        return found


@dataclass(frozen=True)
class User:
    name: str
    password_bcrypt: str
    role: str
    """`operator`, `auditor`, a service's name, or `agency <code>`."""
    permissions: Permissions | None
    """None: everything (the operator)."""

    def config(self) -> dict[str, object]:
        found: dict[str, object] = {"user": self.name, "password": self.password_bcrypt}
        if self.permissions is not None:
            found["permissions"] = self.permissions.config()
        return found


def _stream_reads(stream: str, durables: Iterable[str]) -> tuple[list[str], list[str]]:
    """Reading `stream` through consumers of one's own (ephemeral, ordered or pulled), and single
    messages; the services' durable consumers denied."""
    allow = [f"{API}.STREAM.INFO.{stream}", f"{API}.DIRECT.GET.{stream}", f"{API}.DIRECT.GET.{stream}.>",
             f"{API}.CONSUMER.CREATE.{stream}", f"{API}.CONSUMER.CREATE.{stream}.>",
             f"{API}.CONSUMER.MSG.NEXT.{stream}.*", f"{API}.CONSUMER.INFO.{stream}.*",
             f"{API}.CONSUMER.DELETE.{stream}.*", f"$JS.FC.{stream}.>"]
    deny = [subject for name in durables for subject in (
        f"{API}.CONSUMER.CREATE.{stream}.{name}", f"{API}.CONSUMER.CREATE.{stream}.{name}.>",
        f"{API}.CONSUMER.MSG.NEXT.{stream}.{name}", f"{API}.CONSUMER.DELETE.{stream}.{name}")]
    return allow, deny


def _durables() -> list[str]:
    return [needs.durable for needs in SERVICES.values() if needs.durable]


def service_permissions(name: str, bus: BusSettings) -> Permissions:
    needs = SERVICES[name]
    events, dead, bucket = bus.stream_name, bus.dead_letter_stream_name, bus.positions_bucket
    publish = [f"{API}.INFO", f"{API}.STREAM.INFO.{dead}", f"{API}.STREAM.CREATE.{events}",
               f"{API}.STREAM.CREATE.{dead}", f"{API}.STREAM.INFO.{events}", f"{API}.DIRECT.GET.{events}"]
    deny: list[str] = []
    publish += [event.subject_filter for event in needs.publishes]
    if needs.reads_log:  # every durable consumer but its own is denied
        reads, deny = _stream_reads(events, [d for d in _durables() if d != needs.durable])
        publish += reads
    if consumer := needs.durable:
        publish += [f"{API}.CONSUMER.CREATE.{events}.{consumer}", f"{API}.CONSUMER.CREATE.{events}.{consumer}.>",
                    f"{API}.CONSUMER.INFO.{events}.{consumer}", f"{API}.CONSUMER.MSG.NEXT.{events}.{consumer}",
                    f"{API}.CONSUMER.DELETE.{events}.{consumer}", f"$JS.ACK.{events}.{consumer}.>",
                    f"{API}.STREAM.INFO.KV_{bucket}", f"{API}.STREAM.CREATE.KV_{bucket}",
                    f"$KV.{bucket}.{consumer}", f"{API}.STREAM.MSG.GET.KV_{bucket}",
                    f"{API}.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{consumer}"]
    for field in needs.reads_buckets + needs.writes_buckets:
        bucket = getattr(bus, field)
        publish += [f"{API}.STREAM.INFO.KV_{bucket}", f"{API}.STREAM.CREATE.KV_{bucket}",
                    f"{API}.STREAM.MSG.GET.KV_{bucket}", f"{API}.DIRECT.GET.KV_{bucket}.>"]
        if field in needs.writes_buckets:
            publish.append(f"$KV.{bucket}.>")
    if writer := needs.durable or needs.dead_letters:
        publish.append(subjects.dead_letter_subject(writer))
    subscribe = [f"{subjects.inbox_prefix(name)}.>"]
    subscribe += needs.answers
    publish += needs.asks
    return Permissions(tuple(dict.fromkeys(publish)), tuple(deny), tuple(subscribe), responses=bool(needs.answers))


def auditor_permissions(bus: BusSettings) -> Permissions:
    publish, deny = [f"{API}.INFO"], []
    for stream in (bus.stream_name, bus.dead_letter_stream_name):
        allow, denied = _stream_reads(stream, _durables())
        publish += allow
        deny += denied
    return Permissions(tuple(publish), tuple(deny), (f"{subjects.inbox_prefix(AUDITOR)}.>",))


def mirror_permissions(bus: BusSettings) -> Permissions:
    """A leaf node's mirror of the event stream: it asks the desk's JetStream (through its domain's API
    prefix) for a consumer, answers flow control, and hears only its mirror's deliveries and replies."""
    api, events = f"$JS.{bus.jetstream_domain}.API", bus.stream_name
    return Permissions((f"{api}.CONSUMER.CREATE.{events}", f"{api}.CONSUMER.CREATE.{events}.>", f"$JS.FC.{events}.>"),
                       (), ("$JS.M.>", "$JSC.R.>"))


def agency_permissions(agency: str, user: str) -> Permissions:
    return Permissions((subjects.intake_report_subject(agency),), (), (f"{subjects.inbox_prefix(user)}.>",))


def users(registry: Registry, bus: BusSettings, verifiers: Mapping[str, str]) -> list[User]:
    """Every NATS user: the roles with a verifier in `verifiers` (role name to bcrypt hash), and one
    user per valid agency key that has a NATS verifier."""
    found = []
    for role, verifier in sorted(verifiers.items()):
        if role == OPERATOR:
            found.append(User(role, verifier, role, None))
        elif role == AUDITOR:
            found.append(User(role, verifier, role, auditor_permissions(bus)))
        elif role == MIRROR:
            found.append(User(role, verifier, role, mirror_permissions(bus)))
        elif role in SERVICES:
            found.append(User(role, verifier, role, service_permissions(role, bus)))
        else:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    for key_id, credential in sorted(registry.credentials.items()):
        if credential.revoked is None and credential.nats_bcrypt and credential.agency in registry.agencies:
            name = keys.nats_user(key_id)
            found.append(User(name, credential.nats_bcrypt, f"agency {credential.agency}",
                              agency_permissions(credential.agency, name)))
    return found


def render(found: Iterable[User]) -> str:
    """The nats-server `authorization` block (JSON values are valid in its configuration format)."""
    entries = ",\n".join(f"    {json.dumps(user.config(), sort_keys=True)}" for user in found)
    return ("# Generated by desk-access from the agency registry: do not edit (it is rewritten).\n"
            f"authorization {{\n  users = [\n{entries}\n  ]\n}}\n")
