"""Full-text search over reports' text (migration 0007): SQLite's FTS5, PostgreSQL's tsvector.

A person's words are searched as words, all of them, each also as a prefix ("intimid" finds
"intimidasi"); operators and quotes typed into the box are not FTS syntax here, so no query can
fail to parse."""

from __future__ import annotations

import re

import sqlalchemy as sa

from desk_projection.tables import reports

MAX_WORDS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


LONG_NUMBER = re.compile(r"\d{4}")
"""A word with four digits in a row may be part of a phone number or NIK."""


def words(query: str, numbers: bool = True) -> list[str]:
    """The words of `query` to search for (without `numbers`: those holding a long number left out)."""
    found = _WORD.findall(query.lower())
    return [w for w in found if numbers or not LONG_NUMBER.search(w)][:MAX_WORDS]


def matching_reports(query: str, dialect: str, numbers: bool = True) -> sa.Select[tuple[object]]:
    """The incident ids of reports whose text holds every word of `query` (an empty query: none)."""
    found = words(query, numbers)
    if not found:
        return sa.select(reports.c.incident_id).where(sa.false())
    if dialect == "sqlite":
        expression = " ".join(f'"{w}"*' for w in found)
        rowids = sa.text("SELECT rowid FROM reports_fts WHERE reports_fts MATCH :fts").bindparams(fts=expression)
        return sa.select(reports.c.incident_id).where(sa.literal_column("reports.rowid").in_(rowids))
    expression = " & ".join(f"{w}:*" for w in found)
    vector = sa.func.to_tsvector(sa.literal_column("'simple'"), reports.c.text)
    return sa.select(reports.c.incident_id).where(
        vector.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'"), expression)))
