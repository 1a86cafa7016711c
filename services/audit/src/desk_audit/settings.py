"""The audit service's settings (env prefix DESK_AUDIT_)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_audit.notes import SigningKey, VerifierKey


class WitnessAddress(BaseModel):
    url: str = Field(description="The witness's base URL, e.g. https://saksi.bawaslu.example")
    key: str = Field(description="Its public cosignature key (`name+hash+base64`).")

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey.parse(self.key)


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_AUDIT_", extra="ignore")

    origin: str = Field("desk-pemilu/DESK_EVENTS", description="The log's name in its checkpoints: one per desk "
                                                                "and stream, e.g. desk-pemilu/gayolues/DESK_EVENTS.")
    signing_key_file: Path | None = Field(None, description="The sealer's Ed25519 private key (`desk-audit keygen`).")
    log_key: str | None = Field(None, description="The log's published public key, for verifying (`name+hash+b64`).")
    witnesses: list[WitnessAddress] = Field(default_factory=list, description="JSON list of {url, key}: who cosigns.")
    seal_seconds: float = Field(10.0, gt=0, description="How often the sealer looks for new messages to seal.")
    max_range: int = Field(2000, ge=1, le=20_000, description="Messages one seal covers at most (its leaf list "
                                                                "is 32 bytes each).")
    witness_timeout_seconds: float = Field(5.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(8706, ge=0, le=65535, description="The sealer's API: its public key, latest checkpoint, health.")

    @field_validator("witnesses", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def signing_key(self) -> SigningKey:
        if self.signing_key_file is None:
            raise ValueError("no signing key: set DESK_AUDIT_SIGNING_KEY_FILE (make one with `desk-audit keygen`)")
        return SigningKey.parse(self.signing_key_file.read_text())
