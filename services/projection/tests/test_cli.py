"""The command line and the settings."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from desk_projection.__main__ import main
from desk_projection.projector import Delivered, Projector
from desk_projection.settings import ProjectionSettings
from desk_testing import samples


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_PROJECTION_DATABASE_URL", "postgresql+psycopg://desk@db/desk")
    monkeypatch.setenv("DESK_PROJECTION_PORT", "9000")
    monkeypatch.setenv("DESK_PROJECTION_BATCH_SIZE", "50")
    monkeypatch.setenv("DESK_PROJECTION_REGION_REGENCIES", "11.13, 17.04,")
    settings = ProjectionSettings()
    assert settings.database_url == "postgresql+psycopg://desk@db/desk"
    assert (settings.port, settings.batch_size) == (9000, 50)
    assert settings.regency_codes == frozenset({"11.13", "17.04"})
    assert ProjectionSettings(region_regencies="").regency_codes == frozenset()


def test_rebuild_refuses_a_database_that_holds_a_projection(engine: Engine, database_url: str) -> None:
    Projector(engine).apply_batch(0, [Delivered(1, samples.report_submitted(1))])
    assert main(["rebuild", "--database-url", database_url]) == 2
