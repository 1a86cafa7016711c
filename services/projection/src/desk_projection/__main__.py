"""`desk-projection` / `python -m desk_projection`: serve (default) or rebuild."""

from __future__ import annotations

import argparse
import asyncio
import sys

from desk_projection.bootstrap import rebuild, serve
from desk_projection.settings import ProjectionSettings
from desk_shared.runtime.process import run_until_stopped, setup_logging
from desk_shared.runtime.settings import BusSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-projection", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="project the event log and serve the query API (default)")
    rebuild_cmd = commands.add_parser("rebuild", help="replay the whole log into an empty database, then exit")
    rebuild_cmd.add_argument("--database-url", required=True, help="SQLAlchemy URL of the (empty) target database")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    bus = BusSettings()
    setup_logging(bus.log_level, "projection")
    if args.command == "rebuild":
        settings = ProjectionSettings(database_url=args.database_url)
        outcome: list[int] = []

        async def run_rebuild(stop: asyncio.Event) -> None:
            totals = await rebuild(settings, bus, stop)
            if totals is None:
                outcome.append(2)
                return
            verdict = "interrupted" if stop.is_set() else "rebuilt"
            print(f"{verdict}: applied {totals.applied} events, skipped {totals.ignored}, "
                  f"position {totals.position}", flush=True)
            outcome.append(1 if stop.is_set() else 0)

        run_until_stopped(run_rebuild)
        return outcome[0] if outcome else 1
    run_until_stopped(lambda stop: serve(ProjectionSettings(), bus, stop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
