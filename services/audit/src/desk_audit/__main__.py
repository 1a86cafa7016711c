"""`desk-audit`: the sealer (`seal`), a witness (`witness`), and the auditors' commands:
`verify`, `export`, `prove`, `replay` (the read models as they were, by `desk-projection replay`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from nats.errors import Error as NatsError

from desk_audit import checks, exports, source
from desk_audit.notes import COSIGNATURE_KEY, LOG_KEY, NoteError, SigningKey, VerifierKey
from desk_audit.sealer import BrokenLog
from desk_audit.settings import AuditSettings
from desk_audit.verify import Verifier
from desk_shared.files import replaced
from desk_shared.runtime.bus import connect
from desk_shared.runtime.process import run_until_stopped, setup_logging
from desk_shared.runtime.progress import Progress
from desk_shared.runtime.settings import BusSettings

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make an Ed25519 key: the log's (default) or a witness's")
    keygen.add_argument("--name", required=True, help="the key's name, e.g. desk-pemilu/gayolues or saksi-bawaslu")
    keygen.add_argument("--out", required=True, type=Path, help="the private key file to write (owner-only)")
    keygen.add_argument("--witness", action="store_true", help="a witness's cosignature key")
    commands.add_parser("seal", help="run the sealer (DESK_AUDIT_SIGNING_KEY_FILE, DESK_AUDIT_WITNESSES)")
    witness = commands.add_parser("witness", help="run a witness that cosigns checkpoints extending the last one")
    witness.add_argument("--key", required=True, type=Path, help="the witness's private key (keygen --witness)")
    witness.add_argument("--state", required=True, type=Path, help="where it remembers the last checkpoint")
    witness.add_argument("--log-key", required=True, help="the desk's published public key")
    witness.add_argument("--origin", required=True, help="the log's origin, e.g. desk-pemilu/DESK_EVENTS")
    witness.add_argument("--host", default="127.0.0.1")
    witness.add_argument("--port", type=int, default=8707)
    verify = commands.add_parser("verify", help="walk the log (or a mirror, or an export) and check it against "
                                                "its seals; exit 0 clean, 1 findings, 2 error")
    verify.add_argument("--stream", help="the stream to read (default DESK_STREAM_NAME; a mirror's name)")
    verify.add_argument("--export", type=Path, help="an export file instead of NATS (offline)")
    verify.add_argument("--witness", action="append", default=[], metavar="URL",
                        help="also compare with what the witness at URL last cosigned")
    _key_options(verify)
    export = commands.add_parser("export", help="write the log, or a range of it, as JSON Lines with its seals")
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--from", dest="first", type=int, default=1, help="from this sequence (widened to a seal)")
    export.add_argument("--to", dest="last", type=int, default=None, help="to this sequence (widened to a seal)")
    export.add_argument("--no-progress", action="store_true")
    prove = commands.add_parser("prove", help="an incident's events with inclusion proofs against the newest seal")
    prove.add_argument("incident", help="the incident's id")
    prove.add_argument("--out", required=True, type=Path)
    prove.add_argument("--no-progress", action="store_true")
    mirror = commands.add_parser("mirror", help="on the auditors' own nats-server (DESK_NATS_URL), create the "
                                                "mirror of the desk's event stream (a leaf node of the desk's)")
    mirror.add_argument("--name", default="DESK_EVENTS_MIRROR", help="the mirror's stream name")
    mirror.add_argument("--source", default="DESK_EVENTS", help="the desk's event stream")
    mirror.add_argument("--domain", default="desk", help="the desk's JetStream domain")
    commands.add_parser("replay", help="the read models as they were at a time or sequence, into a separate "
                                       "database: `desk-projection replay` (its options follow)", add_help=False)
    return parser


def _key_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--log-key", help="the log's published public key (default DESK_AUDIT_LOG_KEY)")
    command.add_argument("--witness-key", action="append", default=[], metavar="KEY",
                         help="a witness's public key whose cosignatures are checked (repeat)")
    command.add_argument("--show", type=int, default=20, help="findings shown at most (all are counted)")
    command.add_argument("--no-progress", action="store_true")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replay"]:
        return _replay(argv[1:])
    args = _parser().parse_args(argv)
    bus, settings = BusSettings(), AuditSettings()
    setup_logging(bus.log_level, "audit")
    try:
        if args.command == "keygen":
            return _keygen(args)
        if args.command == "seal":
            from desk_audit.service import run

            settings.signing_key()  # a missing key is said now, not after connecting
            run_until_stopped(lambda stop: run(settings, bus, stop))
            return 0
        if args.command == "witness":
            return _witness(args)
        if args.command == "verify":
            return _verify(args, bus, settings)
        if args.command == "export":
            return _run(_export(args, bus, settings))
        if args.command == "mirror":
            return _run(_mirror(args, bus))
        return _run(_prove(args, bus, settings))
    except (NoteError, ValueError, OSError, BrokenLog) as exc:
        print(f"desk-audit {args.command}: {exc or repr(exc)}", file=sys.stderr)
        return 2


def _run(work: Awaitable[int]) -> int:
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except (NatsError, TimeoutError) as exc:
        print(f"desk-audit: NATS: {exc!r}", file=sys.stderr)
        return 2


def _keygen(args: argparse.Namespace) -> int:
    key = SigningKey.generate(args.name, COSIGNATURE_KEY if args.witness else LOG_KEY)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key.text() + "\n")
    print(f"public key: {key.verifier.text()}")
    return 0


def _witness(args: argparse.Namespace) -> int:
    import uvicorn

    from desk_audit.witness import WitnessState, create_app

    key = SigningKey.parse(args.key.read_text())
    app = create_app(key, VerifierKey.parse(args.log_key), args.origin, WitnessState(args.state))
    print(f"witness {key.name} for {args.origin}, key {key.verifier.text()}, on http://{args.host}:{args.port}",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _progress(args: argparse.Namespace, total: int, label: str) -> Callable[[int], None] | None:
    """A progress bar on stderr that draws its last line when `total` is reached."""
    if args.no_progress:
        return None
    progress = Progress(total, sys.stderr, label=label)

    def shown(done: int) -> None:
        (progress.finish if done >= total else progress.update)(done)

    return shown


def _verifier_factory(args: argparse.Namespace, settings: AuditSettings,
                      fallback: str | None = None) -> Callable[[int], Verifier]:
    text = args.log_key or settings.log_key or fallback
    if not text:
        raise ValueError("which key signs the seals? give --log-key (the published public key) or "
                         "DESK_AUDIT_LOG_KEY")
    if not (args.log_key or settings.log_key):
        print(f"checked against the key the file names, {text}: compare it with the desk's published key",
              file=sys.stderr)
    log_key = VerifierKey.parse(text)
    witnesses = [VerifierKey.parse(k) for k in args.witness_key] + [w.verifier for w in settings.witnesses]
    return lambda start: Verifier(log_key, witnesses, start=start)


def _verify(args: argparse.Namespace, bus: BusSettings, settings: AuditSettings) -> int:
    if args.export:
        return _verify_file(args, settings)
    return _run(_verify_nats(args, bus, settings))


def _verify_file(args: argparse.Namespace, settings: AuditSettings) -> int:
    with args.export.open(encoding="utf-8") as lines:
        numbered = exports.read_lines(lines)
        header = checks.export_header(numbered)
        make = _verifier_factory(args, settings, header.get("log_key"))
        if str(header.get("of", "")).startswith("incident"):
            probe = make(1)
            proofs = checks.check_proofs(numbered, probe.log_key, list(probe.witnesses.values()))
            print(f"{header['of']}: {len(proofs.proven)} messages proven in the tree of {proofs.size} signed by "
                  f"the seal at seq {proofs.seal_seq} (cosigned by {', '.join(proofs.cosigned_by) or 'no witness'})"
                  f"; {len(proofs.unsealed)} not yet sealed")
            return _findings(proofs.findings, args.show)
        total = int(header.get("to") or 0) - int(header.get("from") or 1) + 1
        outcome = checks.verify_export(numbered, header, make, _progress(args, total, "verify"))
    return _report(outcome, args.show)


async def _verify_nats(args: argparse.Namespace, bus: BusSettings, settings: AuditSettings) -> int:
    make = _verifier_factory(args, settings)
    verifier = make(1)
    stream = args.stream or bus.stream_name
    nc = await connect(bus, "desk-audit verify")
    try:
        js = nc.jetstream()
        total = await source.last_sequence(js, stream)
        outcome = await checks.verify_stream(js, stream, verifier, _progress(args, total, "verify"))
    finally:
        await nc.close()
    by_name = {w.name: w for w in verifier.witnesses.values()}
    for url in args.witness:
        key = await _witness_key(url, by_name)
        outcome.findings.extend(await checks.compare_with_witness(url, key, outcome))
    return _report(outcome, args.show)


async def _witness_key(url: str, known: dict[str, VerifierKey]) -> VerifierKey:
    import httpx

    async with httpx.AsyncClient(timeout=10) as client:
        offered = VerifierKey.parse((await client.get(url.rstrip("/") + "/v1/key")).json()["key"])
    if offered.name not in known or known[offered.name] != offered:
        raise ValueError(f"the witness at {url} presents key {offered.text()}, not one given with --witness-key")
    return offered


def _report(outcome: checks.Outcome, show: int) -> int:
    cosigned = ", ".join(f"{name} {count} of {outcome.seals}" for name, count in sorted(outcome.cosignatures.items()))
    where = f"from seq {outcome.first_seq}" if outcome.first_seq else "no messages"
    print(f"{outcome.messages:,} messages ({where} to {outcome.last_seq}); {outcome.seals} seals, sealed through "
          f"seq {outcome.sealed_to}; cosigned: {cosigned or 'by no witness'}; {outcome.unsealed} messages after the "
          "last seal (not yet sealed)")
    return _findings(outcome.findings, show)


def _findings(findings: list[Any], show: int) -> int:
    if not findings:
        print("verified: no change, gap or reordering; every signature valid")
        return 0
    print(f"{len(findings)} findings:")
    for finding in findings[:show]:
        print(f"  {finding.text()}")
    if len(findings) > show:
        print(f"  ... and {len(findings) - show} more")
    return 1


async def _export(args: argparse.Namespace, bus: BusSettings, settings: AuditSettings) -> int:
    nc = await connect(bus, "desk-audit export")
    try:
        js = nc.jetstream()
        end = await source.last_sequence(js, bus.stream_name)
        last = min(args.last or end, end)
        shown = _progress(args, last, "export")
        with replaced(args.out) as out:
            first, last, written = await exports.write_range(js, bus.stream_name, out, args.first, last,
                                                             settings.log_key, shown)
    finally:
        await nc.close()
    print(f"exported {written:,} messages, seq {first} to {last}, to {args.out}")
    return 0


async def _mirror(args: argparse.Namespace, bus: BusSettings) -> int:
    from desk_audit.mirror import ensure_mirror

    nc = await connect(bus, "desk-audit mirror")
    try:
        info = await ensure_mirror(nc.jetstream(), args.name, args.source, args.domain)
    finally:
        await nc.close()
    print(f"mirror {args.name} of {args.source} (domain {args.domain}): {info.state.messages:,} messages so far; "
          f"verify it with: desk-audit verify --stream {args.name}")
    return 0


async def _prove(args: argparse.Namespace, bus: BusSettings, settings: AuditSettings) -> int:
    nc = await connect(bus, "desk-audit prove")
    try:
        js = nc.jetstream()
        shown = _progress(args, await source.last_sequence(js, bus.stream_name), "prove")
        with replaced(args.out) as out:
            count = await exports.write_incident(js, bus.stream_name, out, args.incident, settings.log_key, shown)
    finally:
        await nc.close()
    if not count:
        print(f"no message names incident {args.incident}", file=sys.stderr)
        return 1
    print(f"{count} messages of incident {args.incident} with inclusion proofs written to {args.out}; check it "
          f"offline: desk-audit verify --export {args.out} --log-key <the published key>")
    return 0


def _replay(argv: list[str]) -> int:
    projection = shutil.which("desk-projection") or str(Path(sys.executable).parent / "desk-projection")
    if not Path(projection).exists():
        print("desk-audit replay: desk-projection is not installed here (it builds the read models)", file=sys.stderr)
        return 2
    os.execv(projection, [projection, "replay", *argv])
    return 2


if __name__ == "__main__":
    sys.exit(main())
