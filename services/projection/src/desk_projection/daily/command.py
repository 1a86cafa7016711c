"""`desk-projection daily-report`: the day's situation report as a PDF file, for a scheduled job."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from desk_projection.daily.facts import read_day_from
from desk_projection.daily.pdf import render
from desk_projection.daily.routes import DESK_TZ, check_day, regency_title
from desk_projection.database import make_engine
from desk_projection.settings import ProjectionSettings
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.regions import regions


def daily_report(day: date, out: Path, regency: str | None) -> int:
    """Write the day's situation report to `out` (a scheduled job's command): whole or not at all,
    so a reader never opens half a file."""
    settings, directory, generated = ProjectionSettings(), regions(), datetime.now(UTC)
    problem = check_day(day, generated.astimezone(DESK_TZ).date())
    if regency is not None and regency not in directory.regencies:
        problem = f"no regency {regency!r} (a code such as 11.13)"
    if problem is not None:
        print(f"daily-report: {problem}", file=sys.stderr)
        return 2
    regencies = frozenset({regency}) if regency else settings.regency_codes
    engine = make_engine(settings.database_url)
    try:
        facts = read_day_from(engine, day, DESK_TZ, Areas(regencies=(regency,)) if regency else None, directory,
                              regencies=regencies, now=generated)
    except SQLAlchemyError as exc:
        print(f"daily-report: cannot read the read models at {engine.url.render_as_string(hide_password=True)}: "
              f"{exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    document = render(facts, regency_title(directory, regencies), generated)
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", delete=False) as partial:
        partial.write(document)
    os.replace(partial.name, out)
    print(f"daily-report: wrote {out} ({len(document)} bytes)", flush=True)
    return 0
