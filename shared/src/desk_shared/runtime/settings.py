"""Settings every service shares: where the bus is and how the log is kept (env prefix DESK_).

Each service adds its own settings class with its own prefix (DESK_INTAKE_, ...)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", extra="ignore")

    nats_url: str = Field("nats://127.0.0.1:4222", description="Comma-separated NATS server URLs.")
    nats_user: str | None = None
    nats_password: str | None = None
    nats_creds_file: str | None = Field(None, description="A .creds file (JWT + NKey) for the service's NATS user.")
    stream_name: str = "DESK_EVENTS"
    dead_letter_stream_name: str = "DESK_DEADLETTER"
    positions_bucket: str = Field(
        "desk_positions", description="JetStream key-value bucket where consumers keep the position they finished.")
    subject_keys_bucket: str = Field(
        "desk_subject_keys", description="Key-value bucket with one key per data subject (crypto-shredding).")
    sessions_bucket: str = Field("desk_sessions", description="Key-value bucket of people's sessions and tokens.")
    logins_bucket: str = Field(
        "desk_logins", description="Key-value bucket of password hashes and failed-login counts (never the log).")
    alert_attempts_bucket: str = Field(
        "desk_alert_attempts", description="Key-value bucket of alerts being sent on channels without an "
                                           "idempotency key (e-mail, Telegram, SMS).")
    jetstream_domain: str = Field("desk", pattern=r"^[A-Za-z0-9_-]+$",
                                  description="The JetStream domain of the desk's servers: a leaf node (the "
                                              "auditors' mirror) reaches their API as $JS.<domain>.API.")
    stream_replicas: int = Field(1, ge=1, le=5, description="3 in a production cluster (R3).")
    duplicate_window_seconds: float = Field(
        24 * 3600, gt=0, description="How long JetStream remembers Nats-Msg-Id values for dropping duplicates."
    )
    publish_retry_seconds: float = Field(
        8.0, ge=0, description="How long a publish is retried (same Msg-Id) while the stream has no leader."
    )
    log_level: str = "INFO"

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.nats_url.split(",") if s.strip()]
