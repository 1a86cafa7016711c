"""Triage's own settings (env prefix DESK_TRIAGE_); the bus is in desk_shared's BusSettings."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_shared.runtime.consumer import ConsumerSpec
from desk_triage.incidents.decide import Desk
from desk_triage.incidents.grouping import DEFAULT_POLICY
from desk_triage.incidents.levels import DEFAULT_LEVELS
from desk_triage.incidents.routing import default_routing, load_routing


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_TRIAGE_", extra="ignore")

    consumer_name: str = "triage"
    host: str = "127.0.0.1"
    port: int = Field(8704, ge=0, le=65535, description="Desk officers' API ('cek segera' answers).")
    producer: str = Field("triage", description="Recorded as the producer of every event triage emits.")
    max_deliver: int = Field(10, ge=1)
    ack_wait_seconds: float = Field(30.0, gt=0)
    batch: int = Field(256, ge=1, description="Reports fetched and worked on at once.")
    rules_file: Path | None = Field(
        None, description="A rules.toml to use instead of the packaged one (to try a reviewed change).")
    model_file: Path | None = Field(None, description="A model file to use instead of the packaged one.")
    use_model: bool = Field(True, description="False: the rules alone decide.")
    check_minutes: float = Field(5.0, gt=0, le=24 * 60, description="How long a desk officer has to answer a "
                                                                    "'cek segera' check before it escalates.")
    group_window_minutes: float = Field(240.0, gt=0, le=7 * 24 * 60, description=(
        "A report joins an open incident only within this time of the incident's last report."))
    routing_file: Path | None = Field(None, description="A routing.toml (agencies by category and severity, "
                                                        "deadlines) instead of the packaged one.")
    level_priors_file: Path | None = Field(None, description=(
        "A TOML file of kecamatan code = prior points of its alert level (a vulnerability index such as IKP)."))

    def desk(self) -> Desk:
        """The policies incidents are decided by (liaisons are added by the composition root)."""
        routing = load_routing(self.routing_file) if self.routing_file else default_routing()
        priors: dict[str, float] = {}
        if self.level_priors_file:
            raw = tomllib.loads(self.level_priors_file.read_text(encoding="utf-8"))
            priors = {str(code): float(points) for code, points in raw.items()}
        return Desk(producer=self.producer, routing=routing,
                    grouping=replace(DEFAULT_POLICY, window=timedelta(minutes=self.group_window_minutes)),
                    levels=replace(DEFAULT_LEVELS, priors=priors))

    @property
    def check_within(self) -> timedelta:
        return timedelta(minutes=self.check_minutes)

    def consumer_spec(self) -> ConsumerSpec:
        return ConsumerSpec(name=self.consumer_name, max_deliver=self.max_deliver,
                            ack_wait_seconds=self.ack_wait_seconds, batch=self.batch)
