"""Fixtures of the projection's own tests: a migrated database of each kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from desk_projection.database import make_engine, migrate


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The projection's writing engine on an empty, migrated database (SQLite and PostgreSQL)."""
    writer = make_engine(database_url, writer=True)
    migrate(writer)
    yield writer
    writer.dispose()
