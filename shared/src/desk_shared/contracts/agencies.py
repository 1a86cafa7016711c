"""Events about the agencies that report, and the credentials their producers use.

No secret enters the log. A `AgencyKeyIssued` carries the key's id and the SHA-256 digest of
its secret part: the secret is 32 random bytes, so the digest reveals nothing a guess could
use (a slow password hash such as argon2 is for secrets people choose, and would cost intake
far more than the digest on every request). Every intake replica builds its table of keys
from these events, so a revocation reaches all of them as fast as the log delivers it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from desk_shared.contracts.envelope import Contract, Event, KecamatanCode

AGENCY_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"
AgencyCode = Annotated[str, StringConstraints(pattern=AGENCY_CODE_PATTERN)]
"""An agency's code: lower case letters, digits and dashes (`kpu`, `polsek-blangkejeren`)."""

RegencyCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{2}$", examples=["11.13"])]

KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]
"""The public part of an API key, named in logs and events instead of the key."""


class AgencyKind(StrEnum):
    KPU = "kpu"
    PPK = "ppk"
    BAWASLU = "bawaslu"
    PANWASCAM = "panwascam"
    POLRES = "polres"
    POLSEK = "polsek"
    KODIM = "kodim"
    KORAMIL = "koramil"
    KEJARI = "kejari"
    KESBANGPOL = "kesbangpol"
    KOMINFO = "kominfo"
    BKPSDM = "bkpsdm"
    """The civil-service oversight (BKPSDM, the inspectorate): ASN neutrality."""
    KECAMATAN = "kecamatan"
    OTHER = "other"


AGENCY_NAMES = {AgencyKind.KPU: "KPU", AgencyKind.PPK: "PPK", AgencyKind.BAWASLU: "Bawaslu",
                AgencyKind.PANWASCAM: "Panwascam", AgencyKind.POLRES: "Polres", AgencyKind.POLSEK: "Polsek",
                AgencyKind.KODIM: "Kodim", AgencyKind.KORAMIL: "Koramil", AgencyKind.KEJARI: "Kejari",
                AgencyKind.KESBANGPOL: "Kesbangpol", AgencyKind.KOMINFO: "Diskominfo",
                AgencyKind.BKPSDM: "BKPSDM / Inspektorat", AgencyKind.KECAMATAN: "Kantor camat",
                AgencyKind.OTHER: "Instansi lain"}
"""How people write each kind of agency's name."""


class Areas(Contract):
    """Where an agency may report: whole regencies and single kecamatan (a camat's office
    reports for its own kecamatan, a Polres for its whole regency)."""

    regencies: tuple[RegencyCode, ...] = ()
    kecamatan: tuple[KecamatanCode, ...] = ()

    def covers(self, kecamatan_code: str) -> bool:
        return kecamatan_code in self.kecamatan or kecamatan_code[:5] in self.regencies

    def describe(self) -> str:
        return ", ".join([*(f"kabupaten {r}" for r in self.regencies), *(f"kecamatan {k}" for k in self.kecamatan)])


class AgencyRegisteredPayload(Contract):
    agency: AgencyCode
    name: str = Field(min_length=1, max_length=200, examples=["Bawaslu Kabupaten Gayo Lues"])
    kind: AgencyKind
    areas: Areas


class AgencyRegistered(Event):
    payload: AgencyRegisteredPayload


class AgencyAreasChangedPayload(Contract):
    agency: AgencyCode
    areas: Areas


class AgencyAreasChanged(Event):
    payload: AgencyAreasChangedPayload


class AgencyKeyIssuedPayload(Contract):
    agency: AgencyCode
    key_id: KeyId
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    replaces: KeyId | None = None
    """The key this one rotates out (revoked by its own `AgencyKeyRevoked`)."""
    nats_bcrypt: str | None = Field(None, pattern=r"^\$2a\$\d\d\$[./A-Za-z0-9]{53}$")
    """A bcrypt verifier of the key, for the agency's NATS user (None: the key opens only HTTP)."""


class AgencyKeyIssued(Event):
    payload: AgencyKeyIssuedPayload


class AgencyKeyRevokedPayload(Contract):
    agency: AgencyCode
    key_id: KeyId
    reason: str = Field(min_length=1, max_length=500)


class AgencyKeyRevoked(Event):
    payload: AgencyKeyRevokedPayload
