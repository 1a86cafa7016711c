"""Incidents as CSV, written while they are read: the response starts with the first rows and
never waits for the whole result, so an export of any size neither times out nor fills memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy.engine import Engine

from desk_projection import queries
from desk_projection.responses import incident_item
from desk_shared.contracts.regions import RegionDirectory

COLUMNS = ("incident_id", "opened_at", "kecamatan_code", "kecamatan_name", "village_code", "village_name",
           "category", "category_label", "severity", "classification", "status", "status_label", "report_count",
           "escalated_at", "closed_at", "closed_reason", "agency", "summary")
ROWS_PER_CHUNK = 200
BOM = "\ufeff"
"""Spreadsheets read UTF-8 (village names, Bahasa Indonesia) right only with it."""


def incident_rows(engine: Engine, where: queries.IncidentFilter, directory: RegionDirectory,
                  redact: bool) -> Iterator[bytes]:
    """The CSV in chunks of `ROWS_PER_CHUNK` incidents: a header, then every match, newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    with engine.connect() as conn:
        for n, row in enumerate(queries.stream_incidents(conn, where), start=1):
            item = incident_item(row, directory, redact).model_dump(mode="json")
            writer.writerow([_cell(item[c]) for c in COLUMNS])
            if n % ROWS_PER_CHUNK == 0:
                yield _drain(buffer)
    yield _drain(buffer)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A value as a spreadsheet cell: text an agency wrote never starts a formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _drain(buffer: io.StringIO) -> bytes:
    chunk = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return chunk
