"""`./desk containers build|up|down`: the whole desk in containers on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from desk_access.demo import demo_keys_kept, demo_people_kept
from desk_access.nats_authorization import OPERATOR
from desk_audit.notes import SigningKey
from desk_pemilu.containers.desk import ComposeDesk, secrets_kept
from desk_pemilu.containers.engine import EngineError, find_engine, why_no_engine
from desk_pemilu.containers.images import base_image, build_images
from desk_pemilu.credentials import credential_lines

HTTP_SERVICES = {"DESK_INTAKE_PORT": "intake API (replica 1)", "DESK_INTAKE_PORT_2": "intake API (replica 2)",
                 "DESK_PROJECTION_PORT": "projection API and board (/papan)", "DESK_ACCESS_PORT": "access API",
                 "DESK_TRIAGE_PORT": "triage API", "DESK_NOTIFY_PORT": "notify API",
                 "DESK_INBOX_PORT": "alert inbox (every alert, until real contacts are given)",
                 "DESK_AUDIT_PORT": "audit API (the sealer: /v1/key, /v1/checkpoint)"}


def say(text: str) -> None:
    print(f"[desk] {text}", flush=True)


def containers_main(arguments: list[str], state_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="desk containers", description=(
        "The whole desk in containers: a 3-node NATS cluster, PostgreSQL and every service (two replicas "
        "of intake, triage and notify), from deploy/compose.yaml, with Docker or podman."))
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("build", help="build every image (a Debian-made base first where no registry answers)")
    actions.add_parser("up", help="build, start the desk in the background, print its addresses and demo keys")
    down = actions.add_parser("down", help="stop and remove the desk's containers (data kept)")
    down.add_argument("--volumes", action="store_true", help="delete the desk's data (NATS, PostgreSQL) too")
    args = parser.parse_args(arguments)
    engine = find_engine()
    if engine is None:
        say(why_no_engine())
        return 1
    state = state_dir / "containers"
    try:
        if args.action == "down":
            ComposeDesk(engine, secrets_kept(state)).down(args.volumes)
            say("the container desk is down" + (" and its data deleted" if args.volumes else ""))
            return 0
        say(f"container engine: {engine.name}")
        base = base_image(engine, say)
        build_images(engine, base, say=say)
        if args.action == "build":
            return 0
        desk = ComposeDesk(engine, secrets_kept(state) | {"DESK_IMAGE_BASE": base})
        say("starting the desk (compose project desk-pemilu)")
        desk.up()
    except EngineError as error:
        say(str(error))
        return 1
    if waiting := desk.wait_healthy(list(HTTP_SERVICES)):
        say(f"not healthy after 3 minutes: {', '.join(HTTP_SERVICES[v] for v in waiting)}; "
            f"`{engine.name} logs <container>` tells why")
        return 1
    operator = desk.bus(OPERATOR)
    keys = demo_keys_kept(operator, state / "demo-keys.json")
    people = demo_people_kept(operator, state / "demo-people.json")
    lines = ["Desk Pemilu is running in containers."]
    lines += [f"  {what:<58} {desk.url(variable)}" for variable, what in HTTP_SERVICES.items()]
    lines += [f"  {'NATS cluster (3 nodes, streams R3)':<58} {operator.nats_url}"
              f" (users' passwords in {state / 'nats-passwords.json'})",
              f"  {'PostgreSQL (read models)':<58} 127.0.0.1:{desk.port('DESK_POSTGRES_PORT')}"
              f" (password in {state / 'secrets.json'})"]
    log_key = SigningKey.parse(Path(desk.env["DESK_AUDIT_KEY_FILE"]).read_text()).verifier.text()
    lines.append(f"  {'log public key':<58} {log_key}")
    lines += credential_lines(keys, people)
    lines += [f"Stop it with `./desk containers down`; `{' '.join(engine.compose_command())} -f deploy/compose.yaml "
              "-p desk-pemilu ps` lists its containers."]
    print("\n".join(lines), flush=True)
    return 0
