"""`desk-access`: the operator's CLI for agencies and their API keys.

    desk-access list
    desk-access register CODE --name NAME --kind KIND (--regency 11.13 | --kecamatan 11.13.01)...
    desk-access areas CODE (--regency ... | --kecamatan ...)...
    desk-access issue CODE              prints the new key once; the log keeps only its digest
    desk-access rotate KEY_ID           a new key for the same agency, the old one revoked
    desk-access revoke KEY_ID --reason TEXT
    desk-access person add|roles|disable|password|erase|list ...   the desk's people (see person --help)
    desk-access erase-reporter REPORT_ID --reason TEXT              who reported a report, erased
    desk-access serve                   the access service: people's login API
    desk-access nats-config --passwords FILE --output FILE [--reload-pid-file FILE] [--follow | --roles-only]
                                        nats-server's users from the registry (once, or kept current)

Every change is an event in the log with the operator as its actor (`--operator`, else
`DESK_OPERATOR`, else the login name). Exit status: 0 done, 2 refused or bad input (nothing
appended), 1 NATS unreachable."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from desk_access import people_cli
from desk_access.nats_authorization import users
from desk_access.nats_sync import follow, reload_server, role_passwords, verifiers, write_authorization
from desk_access.operations import Unreachable, append, current_registry, session
from desk_access.people_admin import Desk
from desk_access.service import serve
from desk_access.settings import AccessSettings
from desk_shared.access import registry as access
from desk_shared.access.registry import Refused, Registry
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyCode, AgencyKind, Areas, RegencyCode
from desk_shared.contracts.envelope import Actor, Event, KecamatanCode
from desk_shared.contracts.regions import regions
from desk_shared.runtime.process import run_until_stopped, setup_logging
from desk_shared.runtime.settings import BusSettings

PRODUCER = "desk-access"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-access", description=__doc__.splitlines()[0].strip("`: "))
    parser.add_argument("--operator", default=os.environ.get("DESK_OPERATOR") or _login_name(),
                        help="who is doing this (the events' actor); default DESK_OPERATOR or the login name")
    parser.add_argument("--connect-seconds", type=float, default=10.0, help="how long to wait for NATS (default 10)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="agencies, their areas and their keys")

    def areas(command: argparse.ArgumentParser) -> None:
        command.add_argument("--regency", action="append", default=[], type=regency_code,
                             help="a whole regency (11.13); repeatable")
        command.add_argument("--kecamatan", action="append", default=[], type=kecamatan_code,
                             help="one kecamatan (11.13.01); repeatable")

    register = commands.add_parser("register", help="register an agency and the areas it reports for")
    register.add_argument("code", type=agency_code, help="lower case letters, digits, dashes: kpu, polsek-blangkejeren")
    register.add_argument("--name", required=True)
    register.add_argument("--kind", required=True, choices=[k.value for k in AgencyKind])
    areas(register)
    change = commands.add_parser("areas", help="replace an agency's areas")
    change.add_argument("code", type=agency_code)
    areas(change)
    issue = commands.add_parser("issue", help="a new API key for an agency (shown once)")
    issue.add_argument("code", type=agency_code)
    rotate = commands.add_parser("rotate", help="replace a key: a new one for the same agency, the old one revoked")
    rotate.add_argument("key_id")
    revoke = commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.add_argument("--reason", required=True)
    people_cli.add_commands(commands, areas, _code)
    commands.add_parser("serve", help="run the access service: the login API (DESK_ACCESS_HOST/PORT)")
    nats = commands.add_parser("nats-config", help="write nats-server's authorization (users and permissions) "
                                                   "generated from the registry")
    nats.add_argument("--passwords", type=Path, required=True,
                      help="the roles' passwords (operator, auditor, services), JSON, created if missing (mode 600)")
    nats.add_argument("--output", type=Path, required=True, help="the file nats-server includes")
    nats.add_argument("--reload-pid-file", type=Path, help="nats-server's pid file: reload it after each change")
    nats.add_argument("--follow", action="store_true", help="keep running: rewrite on every change of the registry")
    nats.add_argument("--roles-only", action="store_true",
                      help="only the desk's own users (operator, auditor, services), without reading the registry: "
                           "for a NATS not started yet")
    return parser


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a name
        return "operator"


def _code(adapter: TypeAdapter[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        try:
            return adapter.validate_python(text)
        except ValidationError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    return check


agency_code = _code(TypeAdapter(AgencyCode), "an agency code: 2 to 32 lower case letters, digits and dashes")
regency_code = _code(TypeAdapter(RegencyCode), "a regency code like 11.13")
kecamatan_code = _code(TypeAdapter(KecamatanCode), "a kecamatan code like 11.13.01")


def listing(registry: Registry) -> str:
    if not registry.agencies:
        return "no agencies registered"
    lines = []
    for code in sorted(registry.agencies):
        agency = registry.agencies[code]
        lines.append(f"{code}  ({agency.kind}) {agency.name}: reports for {agency.areas.describe()}")
        lines.append(f"    may: POST /v1/reports with a valid key; over NATS (user dpk_<key id>, the key as "
                     f"password) publish {subjects.intake_report_subject(code)} only")
        for key in registry.keys_of(code):
            state = "REVOKED: " + key.revoked if key.revoked else "valid" + ("" if key.nats_bcrypt else " (HTTP only)")
            lines.append(f"    key {key.key_id}  {state}")
    return "\n".join(lines)


def decide(args: argparse.Namespace, registry: Registry) -> tuple[list[Event], str]:
    """The events a command appends and what to tell the operator; raises `Refused`."""
    actor = Actor(kind="person", id=args.operator)
    if args.command == "list":
        return [], listing(registry)
    if args.command in ("register", "areas"):
        areas = Areas(regencies=tuple(args.regency), kecamatan=tuple(args.kecamatan))
        if args.command == "register":
            event: Event = access.register(registry, regions(), code=args.code, name=args.name,
                                           kind=AgencyKind(args.kind), areas=areas, actor=actor, producer=PRODUCER)
            return [event], f"registered {args.code}: reports for {areas.describe()}"
        event = access.change_areas(registry, regions(), code=args.code, areas=areas, actor=actor, producer=PRODUCER)
        return [event], f"{args.code} now reports for {areas.describe()}"
    if args.command == "issue":
        issued = access.issue(registry, code=args.code, actor=actor, producer=PRODUCER)
        return [issued.event], _shown_once(args.code, issued)
    if args.command == "rotate":
        issued, revoked = access.rotate(registry, key_id=args.key_id, actor=actor, producer=PRODUCER)
        return [issued.event, revoked], _shown_once(issued.event.payload.agency, issued) + \
            f"\nkey {args.key_id} is revoked"
    revoked = access.revoke(registry, key_id=args.key_id, reason=args.reason, actor=actor, producer=PRODUCER)
    return [revoked], f"key {args.key_id} of {revoked.payload.agency} is revoked"


def _shown_once(agency: str, issued: access.Issued) -> str:
    return (f"new API key for {agency} (key id {issued.event.payload.key_id}); it is shown only now, "
            f"give it to the agency over a safe channel:\n{issued.token}")


async def _run(args: argparse.Namespace, bus: BusSettings) -> str:
    async with session(bus, args.connect_seconds) as js:
        events, told = decide(args, await current_registry(js, bus))
        await append(js, bus, events)
        return told


async def _person(args: argparse.Namespace, bus: BusSettings) -> str:
    async with session(bus, args.connect_seconds) as js:
        return await people_cli.run(args, Desk(js, bus, Actor(kind="person", id=args.operator), PRODUCER))


async def _nats_config(args: argparse.Namespace, bus: BusSettings) -> str:
    role_verifiers = verifiers(role_passwords(args.passwords))
    registry = Registry()
    if not args.roles_only:
        async with session(bus, args.connect_seconds) as js:
            registry = await current_registry(js, bus)
    changed = write_authorization(args.output, registry, bus, role_verifiers)
    if changed and args.reload_pid_file:
        reload_server(args.reload_pid_file)
    count = len(users(registry, bus, role_verifiers))
    return f"{args.output}: {count} NATS users" + ("" if changed else " (unchanged)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    bus = BusSettings()
    if args.command == "serve":
        setup_logging(bus.log_level, "access")
        run_until_stopped(lambda stop: serve(AccessSettings(), bus, stop))
        return 0
    if args.command == "nats-config" and args.follow:
        role_verifiers = verifiers(role_passwords(args.passwords))
        setup_logging(bus.log_level, "desk-access")
        run_until_stopped(lambda stop: follow(bus, args.output, role_verifiers, args.reload_pid_file, stop))
        return 0
    try:
        run = {"nats-config": _nats_config, "person": _person, "erase-reporter": _person}.get(args.command, _run)
        print(asyncio.run(run(args, bus)))
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # what argparse does not check itself (a name too long, ...)
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        print(f"refused: {problems}", file=sys.stderr)
        return 2
    except Unreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("error: NATS answered, but JetStream did not answer in time (a cluster still starting?)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
