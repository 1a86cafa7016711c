"""Notify's own settings (env prefix DESK_NOTIFY_); the bus is in desk_shared's BusSettings."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_notify.escalation.floods import FloodRules
from desk_shared.contracts.contacts import ChannelKind
from desk_shared.contracts.events import Event
from desk_shared.runtime.consumer import ConsumerSpec


def each_alert_alone(event: Event) -> Hashable:
    """Alerts need no order among themselves: every one is worked on at once."""
    return event.event_id


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_NOTIFY_", extra="ignore")

    contacts_file: Path | None = Field(
        None, description="TOML file of [[contact]] entries (id, serves, label, name, channels); every change of it "
                          "is recorded as events. See contacts.example.toml.")
    consumer_name: str = "notify"
    producer: str = Field("notify", description="Recorded as the producer of every event notify emits.")
    max_attempts: int = Field(40, ge=1, description="Delivery attempts per alert before AlertFailed is recorded.")
    first_retry_delay: float = Field(1.0, gt=0, description="Seconds before the second attempt; doubles after.")
    max_retry_delay: float = Field(15.0, gt=0, description="The longest wait between attempts: a channel that "
                                                           "comes back gets its alerts within this.")
    request_timeout: float = Field(5.0, gt=0, description="Seconds for one webhook request.")
    per_receiver: int = Field(16, ge=1, description="Requests open at once to one receiver (scheme, host, port); "
                                                    "more wait for a turn, so a slow receiver holds only its own.")
    in_flight: int = Field(4096, ge=1, description="Alerts worked on at once (waiting for a receiver's turn "
                                                   "included).")
    ack_wait_seconds: float = Field(30.0, gt=0)
    policy_file: Path | None = Field(None, description="Escalation policy (TOML); the bundled "
                                                       "desk_notify/escalation/policy.toml when unset.")
    horizon_days: float = Field(7.0, gt=0, description="How far back a starting replica reads the log for chains "
                                                       "still running (older ones have ended or only remind).")
    host: str = "127.0.0.1"
    port: int = Field(8705, description="The acknowledgement API and links.")
    public_url: str | None = Field(None, description="Where liaisons reach this API (the links' base), "
                                                     "http://<host>:<port> when unset.")
    link_secret: SecretStr | None = Field(None, description="Signs acknowledgement links; the same on every "
                                                            "replica, at least 32 characters. Unset: no links.",
                                          min_length=32)
    link_valid_hours: float = Field(24.0, gt=0)
    group_seconds: float = Field(120.0, ge=0, description="A non-critical alert to a liaison who had one about the "
                                                          "same kecamatan this recently waits this long for a digest.")
    flood_window_seconds: float = Field(600.0, gt=0, le=3600)
    flood_limit: int = Field(10, ge=1, description="Alerts to one liaison within the flood window before the "
                                                   "non-critical ones wait for a digest (kritis never waits).")
    webhook_secret: SecretStr | None = Field(None, min_length=16, description="Signs every webhook request "
                                             "(Desk-Signature) unless the channel has a secret of its own.")
    smtp_host: str | None = Field(None, description="E-mail channels need an SMTP server.")
    smtp_port: int = 25
    smtp_from: str = "Desk Pemilu <desk-pemilu@localhost>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_token: SecretStr | None = Field(None, description="Telegram channels need a bot.")
    telegram_webhook_secret: SecretStr | None = Field(
        None, min_length=16, description="The secret_token given to Telegram's setWebhook for "
                                         "<public_url>/telegram/updates: replies to alerts acknowledge them.")
    gateway_url: str | None = Field(None, description="SMS and WhatsApp channels need a gateway "
                                                      "(see desk_notify/channels/gateway.py for its API).")
    gateway_token: SecretStr | None = None
    rate_per_minute: dict[ChannelKind, float] = Field(
        {"email": 120, "telegram": 1200, "sms": 60, "whatsapp": 60},
        description="Sends per minute at most, per channel kind (JSON); a kind not listed is not limited.")

    def flood_rules(self) -> FloodRules:
        return FloodRules(self.group_seconds, self.flood_window_seconds, self.flood_limit)

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    @property
    def link_base(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def consumer_spec(self) -> ConsumerSpec:
        return ConsumerSpec(name=self.consumer_name, max_deliver=self.max_attempts + 5,
                            ack_wait_seconds=self.ack_wait_seconds, batch=min(256, self.in_flight),
                            max_in_flight=self.in_flight, first_retry_delay=self.first_retry_delay,
                            max_retry_delay=self.max_retry_delay, order_key=each_alert_alone)
