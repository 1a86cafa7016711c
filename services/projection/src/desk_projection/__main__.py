"""`desk-projection` / `python -m desk_projection`: serve (default), rebuild, check or replay the read models."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from desk_projection.archive import NotAnArchive
from desk_projection.bootstrap import rebuild, serve, tune_garbage_collector
from desk_projection.daily.command import daily_report
from desk_projection.progress import Progress
from desk_projection.settings import ProjectionSettings
from desk_shared.runtime.log_reader import ReadTotals
from desk_shared.runtime.process import run_until_stopped, setup_logging
from desk_shared.runtime.settings import BusSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-projection", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="project the event log and serve the query API (default)")
    rebuild_cmd = commands.add_parser("rebuild", help="replay the whole log into fresh tables swapped in for the live "
                                                      "ones (--swap), or into an empty database, then exit")
    rebuild_cmd.add_argument("--database-url", help="SQLAlchemy URL of the (empty) target database; with --swap, of "
                                                    "the live one (default DESK_PROJECTION_DATABASE_URL)")
    rebuild_cmd.add_argument("--swap", action="store_true", help="rebuild in fresh tables of the live database and "
                                                                 "swap them in while it serves")
    rebuild_cmd.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    check_cmd = commands.add_parser("check", help="rebuild in fresh tables at the live position and report every "
                                                  "difference from the live tables (exit 0 none, 1 some, 2 error)")
    check_cmd.add_argument("--database-url", help="SQLAlchemy URL of the live database "
                                                  "(default DESK_PROJECTION_DATABASE_URL)")
    check_cmd.add_argument("--show", type=int, default=20, help="differences shown at most (all are counted)")
    check_cmd.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    replay_cmd = commands.add_parser("replay", help="build the read models as they were at a moment of the log into "
                                                    "an empty database (an archive, served read-only by serve), "
                                                    "then exit")
    replay_cmd.add_argument("--until", required=True,
                            help="a stream sequence (that event included), or an ISO 8601 date-time with its offset, "
                                 "e.g. 2024-02-14T10:00+07:00 (up to the last event the log stored at or before it)")
    replay_cmd.add_argument("--database-url", required=True, help="SQLAlchemy URL of the (empty) archive database; "
                                                                  "never the live one")
    replay_cmd.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    report_cmd = commands.add_parser("daily-report", help="write the daily situation report (PDF) of one day")
    report_cmd.add_argument("--date", required=True, type=date.fromisoformat, help="the day, YYYY-MM-DD (WIB)")
    report_cmd.add_argument("--out", required=True, type=Path, help="the PDF file to write (replaced whole)")
    report_cmd.add_argument("--regency", help="only this regency, e.g. 11.13 (default: every area, and the "
                                              "kecamatan of DESK_PROJECTION_REGION_REGENCIES listed)")
    return parser


def progress_display(_start: int, target: int, label: str = "rebuild") -> Callable[[ReadTotals], None]:
    """A progress bar on stderr (one line a second when stderr is not a terminal)."""
    progress = Progress(target, sys.stderr, label=label)
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
    if args.command == "daily-report":
        return daily_report(args.date, args.out, args.regency)
    if args.command == "replay":
        from desk_projection.point_in_time import replay_command

        shown = None if args.no_progress else functools.partial(progress_display, label="replay")
        return replay_command(args.until, args.database_url, bus, shown)
    if args.command == "rebuild" and not (args.swap or args.database_url):
        print("rebuild: say where: --database-url URL (an empty database) or --swap (the live read models, "
              "replaced while they serve)", file=sys.stderr)
        return 2
    if args.command == "check" or (args.command == "rebuild" and args.swap):
        from desk_projection.fresh_tables.commands import check_command, settings_for, swap_command

        shown = None if args.no_progress else progress_display
        if args.command == "check":
            return check_command(settings_for(args.database_url), bus, shown, args.show)
        return swap_command(settings_for(args.database_url), bus, shown)
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
    try:
        run_until_stopped(lambda stop: serve(settings, bus, stop))
    except NotAnArchive as exc:
        logging.getLogger("desk_projection").error("not served: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
