"""Notify's own settings (env prefix DESK_NOTIFY_); the bus is in desk_shared's BusSettings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_notify.retry import RetryPolicy
from desk_shared import subjects
from desk_shared.consuming import ConsumerSpec


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_NOTIFY_", extra="ignore")

    contacts_file: Path | None = Field(
        None, description="TOML file of [[contact]] entries (match, webhook, name); see contacts.example.toml.")
    consumer_name: str = "notify"
    producer: str = Field("notify", description="Recorded as the producer of every event notify emits.")
    max_deliver: int = Field(5, ge=1)
    ack_wait_seconds: float = Field(120.0, gt=0, description="Long enough for a whole round of webhook retries.")
    batch: int = Field(8, ge=1, description="Escalations handled at once (concurrently).")
    max_attempts: int = Field(5, ge=1, description="Webhook attempts per alert.")
    first_retry_delay: float = Field(0.5, ge=0, description="Seconds before the second attempt; doubles after.")
    max_retry_delay: float = Field(8.0, ge=0)
    request_timeout: float = Field(5.0, gt=0, description="Seconds for one webhook request.")

    def consumer_spec(self) -> ConsumerSpec:
        return ConsumerSpec(name=self.consumer_name, filter_subject=subjects.INCIDENT_ESCALATED,
                            max_deliver=self.max_deliver, ack_wait_seconds=self.ack_wait_seconds, batch=self.batch,
                            parallel=True)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, first_delay=self.first_retry_delay,
                           max_delay=self.max_retry_delay)
