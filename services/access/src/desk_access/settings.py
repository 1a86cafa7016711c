"""The access service's settings (env prefix DESK_ACCESS_); the bus is in BusSettings (DESK_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_ACCESS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8703, ge=0, le=65535)
    login_provider: Literal["local"] = Field(
        "local", description="Who checks a person's identity at login: 'local' passwords (argon2). An OIDC provider "
                             "plugs in here: it proves who the person is, the desk still starts the session.")
    session_hours: float = Field(12, gt=0, le=24 * 14, description="How long a login lasts (the cookie's life).")
    token_max_days: int = Field(90, ge=1, le=90, description="The longest life of a bearer token for programs.")
    cookie_secure: bool = Field(True, description="Send the session cookie over HTTPS only (browsers treat "
                                                  "http://localhost and 127.0.0.1 as secure).")
    max_failures: int = Field(5, ge=1, description="Failed logins of one login name before it is locked.")
    failure_window_seconds: float = Field(900, gt=0, description="The failures counted are those within this time.")
    lockout_seconds: float = Field(900, gt=0, description="How long a locked login stays locked.")
    min_password_length: int = Field(10, ge=8)
