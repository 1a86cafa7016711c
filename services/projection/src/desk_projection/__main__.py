"""`desk-projection` / `python -m desk_projection`: serve (default) or rebuild."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from desk_projection.bootstrap import rebuild, serve, tune_garbage_collector
from desk_projection.progress import Progress
from desk_projection.settings import ProjectionSettings
from desk_shared.runtime.log_reader import ReadTotals
from desk_shared.runtime.process import run_until_stopped, setup_logging
from desk_shared.runtime.settings import BusSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-projection", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="project the event log and serve the query API (default)")
    rebuild_cmd = commands.add_parser("rebuild", help="replay the whole log into an empty database, then exit")
    rebuild_cmd.add_argument("--database-url", required=True, help="SQLAlchemy URL of the (empty) target database")
    rebuild_cmd.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    return parser


def progress_display(_start: int, target: int) -> Callable[[ReadTotals], None]:
    """A progress bar on stderr (one line a second when stderr is not a terminal)."""
    progress = Progress(target, sys.stderr)
    finished: list[bool] = []

    def show(totals: ReadTotals) -> None:
        if finished:
            return
        if totals.position >= target:
            progress.finish(totals.position)
            finished.append(True)
        else:
            progress.update(totals.position)

    return show


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    bus = BusSettings()
    setup_logging(bus.log_level, "projection")
    if args.command == "rebuild":
        settings = ProjectionSettings(database_url=args.database_url)
        tune_garbage_collector(settings)
        outcome: list[int] = []

        async def run_rebuild(stop: asyncio.Event) -> None:
            totals = await rebuild(settings, bus, stop, None if args.no_progress else progress_display)
            if totals is None:
                outcome.append(2)
                return
            verdict = "interrupted" if stop.is_set() else "rebuilt"
            print(f"{verdict}: applied {totals.applied} events, ignored {totals.ignored} (types the projection does "
                  f"not use), skipped {totals.skipped} (see the skipped_events table), position {totals.position}",
                  flush=True)
            outcome.append(1 if stop.is_set() else 0)

        run_until_stopped(run_rebuild)
        return outcome[0] if outcome else 1
    settings = ProjectionSettings()
    tune_garbage_collector(settings)
    run_until_stopped(lambda stop: serve(settings, bus, stop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
