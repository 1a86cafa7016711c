"""`desk-access person ...`: the administrator's commands about people.

    person add LOGIN --name NAME [--phone P] [--email E] --role ROLE... (--regency | --kecamatan)...
    person roles LOGIN --role ROLE... (--regency | --kecamatan)...
    person disable LOGIN --reason TEXT
    person password LOGIN
    person erase LOGIN --reason TEXT      destroys the person's key: their details are gone from every copy
    person list                           (the reading of their names is recorded in the log)
    erase-reporter REPORT_ID --reason TEXT  destroys the key of a report's reporter

Passwords are read from the terminal (asked twice), or from standard input with --password-stdin."""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from collections.abc import Callable

from pydantic import TypeAdapter

from desk_access import people_admin as admin
from desk_shared.access.registry import Refused
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.people import Login, PersonalDetails, Role


def add_commands(commands: argparse._SubParsersAction, areas: Callable[[argparse.ArgumentParser], None],
                 code: Callable[[TypeAdapter[str], str], Callable[[str], str]]) -> None:
    login = code(TypeAdapter(Login), "a login: 3 to 64 lower case letters, digits, dots, dashes, underscores")
    person = commands.add_parser("person", help="the desk's people: roles, areas, passwords, erasure")
    actions = person.add_subparsers(dest="person_command", required=True)

    def roles(command: argparse.ArgumentParser) -> None:
        command.add_argument("--role", action="append", required=True, choices=[r.value for r in Role],
                             help="repeatable")
        areas(command)

    add = actions.add_parser("add", help="register a person and set their password")
    add.add_argument("login", type=login)
    add.add_argument("--name", required=True, help="full name (sealed: erasable personal data)")
    add.add_argument("--phone")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    roles(add)
    change = actions.add_parser("roles", help="replace a person's roles and areas")
    change.add_argument("login", type=login)
    roles(change)
    disable = actions.add_parser("disable", help="no more logins; every session of theirs stops working")
    disable.add_argument("login", type=login)
    disable.add_argument("--reason", required=True)
    password = actions.add_parser("password", help="set a new password")
    password.add_argument("login", type=login)
    password.add_argument("--password-stdin", action="store_true")
    erase = actions.add_parser("erase", help="erase a person's personal data (crypto-shredding) and disable them")
    erase.add_argument("login", type=login)
    erase.add_argument("--reason", required=True)
    actions.add_parser("list", help="people, their roles and areas (reading their names is recorded)")
    reporter = commands.add_parser("erase-reporter", help="erase who reported a report (crypto-shredding)")
    reporter.add_argument("report_id", type=uuid.UUID)
    reporter.add_argument("--reason", required=True)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass(f"password for {args.login}: ")
    if getpass.getpass("again: ") != first:
        raise Refused("the passwords differ")
    return first


async def run(args: argparse.Namespace, desk: admin.Desk) -> str:
    if args.command == "erase-reporter":
        await admin.erase_reporter(desk, report_id=args.report_id, reason=args.reason)
        return f"the reporter of report {args.report_id} is erased (key destroyed)"
    command = args.person_command
    if command == "list":
        return await admin.listing(desk)
    if command in ("add", "roles"):
        areas = Areas(regencies=tuple(args.regency), kecamatan=tuple(args.kecamatan))
        roles = tuple(Role(r) for r in dict.fromkeys(args.role))
        if command == "roles":
            await admin.change_roles(desk, login=args.login, roles=roles, areas=areas)
            return f"{args.login}: {', '.join(roles)} for {areas.describe()}"
        details = PersonalDetails(name=args.name, phone=args.phone, email=args.email)
        person_id = await admin.add_person(desk, login=args.login, details=details, roles=roles, areas=areas,
                                           password=_password(args))
        return f"registered {args.login} (person {person_id}): {', '.join(roles)} for {areas.describe()}"
    if command == "disable":
        await admin.disable(desk, login=args.login, reason=args.reason)
        return f"{args.login} is disabled"
    if command == "password":
        await admin.set_password(desk, login=args.login, password=_password(args))
        return f"new password set for {args.login}"
    await admin.erase(desk, login=args.login, reason=args.reason)
    return f"the personal data of {args.login} is erased (key destroyed); the person is disabled"
