"""The desk's categories and severities, with stable codes and Indonesian labels."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    ASN_NEUTRALITY = "asn_neutrality"
    VILLAGE_OFFICIAL_NEUTRALITY = "village_official_neutrality"
    SECURITY_FORCES_NEUTRALITY = "security_forces_neutrality"
    STATE_RESOURCE_MISUSE = "state_resource_misuse"
    MONEY_POLITICS = "money_politics"
    SLANDER_HOAX_HATE = "slander_hoax_hate"
    INTIMIDATION = "intimidation"
    VIOLENCE = "violence"
    SOCIAL_FRICTION = "social_friction"
    CAMPAIGN_VIOLATION = "campaign_violation"
    LOGISTICS = "logistics"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.ASN_NEUTRALITY: "Netralitas ASN",
    Category.VILLAGE_OFFICIAL_NEUTRALITY: "Netralitas kepala desa / perangkat desa",
    Category.SECURITY_FORCES_NEUTRALITY: "Netralitas TNI/Polri",
    Category.STATE_RESOURCE_MISUSE: "Penyalahgunaan fasilitas, program atau anggaran negara",
    Category.MONEY_POLITICS: "Politik uang",
    Category.SLANDER_HOAX_HATE: "Fitnah, hoaks, ujaran kebencian dan SARA",
    Category.INTIMIDATION: "Intimidasi dan ancaman",
    Category.VIOLENCE: "Kekerasan dan kerusuhan",
    Category.SOCIAL_FRICTION: "Gesekan sosial antar pendukung atau warga",
    Category.CAMPAIGN_VIOLATION: "Pelanggaran kampanye",
    Category.LOGISTICS: "Logistik dan TPS",
    Category.OTHER: "Lainnya",
}


class Severity(StrEnum):
    """Ordered from least to most urgent; the codes are the desk's own words."""

    RENDAH = "rendah"
    SEDANG = "sedang"
    TINGGI = "tinggi"
    KRITIS = "kritis"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def escalates(self) -> bool:
        """High and critical incidents are escalated to the kecamatan's police and TNI liaisons."""
        return self.rank >= Severity.TINGGI.rank


_RANK = {severity: rank for rank, severity in enumerate(Severity)}
