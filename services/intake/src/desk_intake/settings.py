"""Intake settings (env prefix DESK_INTAKE_); the bus settings are shared (DESK_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_INTAKE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8700
    workers: int = Field(
        1, ge=1, description="Worker processes sharing the HTTP port, each with its own NATS connection in the "
                             "queue group. 1 by default: on 2 cores, with the rest of the system running, 2 measured "
                             "no better (bench/intake.py --system --workers 2); intake waits on the log's fsync."
    )
    max_body_bytes: int = Field(64 * 1024, gt=0, description="Larger request bodies get 413.")
    max_drain_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="An oversized body is read up to this size before the 413 (beyond "
                                            "it the connection is closed at once)."
    )
    region_regencies: str = Field(
        "", description="Comma-separated regency codes (e.g. 11.13) this desk accepts; empty accepts all of Indonesia."
    )
    nats_queue_group: str = "desk-intake"
    nats_max_in_flight: int = Field(
        256, gt=0, description="NATS requests one worker handles at once; more wait in the client's queue."
    )
    shutdown_seconds: float = Field(5.0, ge=0, description="On stop, how long requests in flight may take.")
    retry_after_seconds: int = Field(5, description="Retry-After sent with 503 when the log is unreachable.")
    agency_rate: float = Field(
        100.0, gt=0, description="Reports per second one agency may send to one worker, sustained (beyond: 429).")
    agency_burst: int = Field(1000, ge=1, description="Reports one agency may send at once above that rate.")
    failures_per_minute: int = Field(
        30, ge=1, description="Failed authentications per client address and minute before they are answered 429.")

    @property
    def regency_scope(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.region_regencies.split(",") if c.strip())
