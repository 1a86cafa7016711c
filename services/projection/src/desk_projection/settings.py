"""The projection's own settings (env prefix DESK_PROJECTION_); the bus is in BusSettings (DESK_)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_projection.database import SqliteWriting

DESK_TIME_ZONE = ZoneInfo("Asia/Jakarta")
"""Where the desk's days begin and end (WIB), for daily reports and charts by day."""


class ProjectionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_PROJECTION_", extra="ignore")

    database_url: str = Field("sqlite:///desk-projection.db",
                              description="SQLAlchemy URL: a SQLite file, or postgresql+psycopg://...")
    host: str = "127.0.0.1"
    port: int = Field(8701, ge=0, le=65535)
    batch_size: int = Field(2000, ge=1, le=10_000, description="Events fetched and applied per transaction at most "
                                                               "(fewer when fewer are waiting).")
    fetch_timeout_seconds: float = Field(0.2, gt=0, description="How long a fetch waits when the log is idle.")
    prefetch_batches: int = Field(2, ge=1, le=16, description="Batches read and decoded ahead while one is written.")
    max_attempts: int = Field(5, ge=1, le=1000, description="Attempts at an event that cannot be applied before it "
                                                            "is dead-lettered and skipped.")
    retry_delay_seconds: float = Field(1.0, ge=0, description="The first wait before an attempt is repeated "
                                                              "(doubled each time).")
    max_retry_delay_seconds: float = Field(30.0, ge=0, description="The longest wait between attempts.")
    gc_threshold: int = Field(20_000, ge=0, description="Allocations between collections of the youngest "
                                                       "generation (Python's default 700 costs about a fifth of the "
                                                       "throughput); 0 leaves the collector as it is.")
    switch_interval_ms: float = Field(1.0, gt=0, le=100, description="How long a thread may hold Python's GIL "
                                                                     "before another may run (Python's default: "
                                                                     "5 ms): the API's requests wait less behind "
                                                                     "the thread applying the log.")
    sqlite_cache_mb: int = Field(128, ge=1, description="SQLite writer's page cache.")
    sqlite_mmap_mb: int = Field(512, ge=0, description="SQLite writer's memory-mapped reads (0: none).")
    sqlite_wal_autocheckpoint_pages: int = Field(20_000, ge=1, description="WAL pages between SQLite checkpoints.")
    live_interval_seconds: float = Field(0.25, gt=0, description="How often the board's live feed looks whether "
                                                                 "the read models moved.")
    cookie_secure: bool = Field(True, description="The session cookie set at /masuk only travels over HTTPS "
                                                  "(browsers treat http://127.0.0.1 and localhost as secure).")
    board_layout_file: Path | None = Field(None, description="A TOML file placing each kecamatan's tile on a "
                                                             "grid drawn like the regency's map (default: the "
                                                             "packaged layouts).")
    archive: bool = Field(False, description="Serve an archive made by `desk-projection replay` (read-only, as of "
                                             "its moment) and refuse to start on a database that holds none. A "
                                             "database holding an archive is served as one whatever this says.")
    region_regencies: str = Field("", description="Comma-separated regency codes (e.g. 11.13) whose kecamatan "
                                                  "are always listed in the situation, even without incidents.")

    @property
    def regency_codes(self) -> frozenset[str]:
        return frozenset(code.strip() for code in self.region_regencies.split(",") if code.strip())

    def sqlite_writing(self) -> SqliteWriting:
        return SqliteWriting(self.sqlite_cache_mb, self.sqlite_mmap_mb, self.sqlite_wal_autocheckpoint_pages)
