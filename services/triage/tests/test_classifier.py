"""The first rule set on Indonesian report sentences, SMS shorthand and negations included."""

from __future__ import annotations

import pytest

from desk_shared.taxonomy import Category, Severity
from desk_triage.classifier import classify, default_rules

C = Category
S = Severity

CASES: list[tuple[str, Category, set[Severity]]] = [
    ("Massa sekitar dua ratus orang membawa parang mendatangi TPS 03 dan membakar kotak suara, "
     "dua petugas KPPS luka-luka.", C.VIOLENCE, {S.KRITIS}),
    ("Kepala desa Penampaan mengumpulkan perangkat desa dan meminta mereka mengajak warga memilih "
     "paslon nomor 1.", C.VILLAGE_OFFICIAL_NEUTRALITY, {S.RENDAH, S.SEDANG}),
    ("Kades sdh kumpulkan warga utk dukung paslon 2 di meunasah.", C.VILLAGE_OFFICIAL_NEUTRALITY,
     {S.RENDAH, S.SEDANG}),
    ("Seorang PNS dinas pendidikan ikut kampanye paslon 2 dan memakai atribut partai.", C.ASN_NEUTRALITY,
     {S.RENDAH, S.SEDANG}),
    ("Guru ASN mengajak wali murid memilih calon bupati nomor urut 2 saat rapat sekolah.", C.ASN_NEUTRALITY,
     {S.RENDAH, S.SEDANG}),
    ("Beredar hoaks dan fitnah tentang calon bupati di grup WA warga.", C.SLANDER_HOAX_HATE, {S.SEDANG}),
    ("Akun facebook menyebarkan ujaran kebencian bernada SARA terhadap salah satu calon.", C.SLANDER_HOAX_HATE,
     {S.TINGGI}),
    ("Ada serangan fajar, timses bagi amplop ke warga jam 5 pagi.", C.MONEY_POLITICS, {S.SEDANG}),
    ("Timses membagikan uang Rp100 ribu kpd warga agar memilih paslon 3.", C.MONEY_POLITICS, {S.SEDANG}),
    ("Mobil dinas dipakai kampanye paslon 1 di Kecamatan Pining.", C.STATE_RESOURCE_MISUSE, {S.RENDAH}),
    ("Bansos dari pemda dibagikan bersama stiker calon bupati.", C.STATE_RESOURCE_MISUSE, {S.RENDAH}),
    ("Surat suara kurang 50 lembar di TPS 2, kotak suara rusak.", C.LOGISTICS, {S.SEDANG}),
    ("Logistik pemilu ke desa terpencil terlambat karena jalan longsor.", C.LOGISTICS, {S.SEDANG}),
    ("Saya diancam tidak dapat bantuan kalau tidak pilih paslon 2.", C.INTIMIDATION, {S.SEDANG}),
    ("Petugas KPPS di TPS 5 diancam oleh orang tak dikenal.", C.INTIMIDATION, {S.TINGGI}),
    ("ada org yg ngancam petugas kpps di tps 7 kalo ga menangkan paslon 1", C.INTIMIDATION, {S.TINGGI}),
    ("Seorang pria membawa golok di sekitar TPS 2 sambil mengancam warga.", C.INTIMIDATION, {S.TINGGI}),
    ("Pendukung kedua paslon adu mulut di depan posko, suasana tegang tapi tidak sampai terjadi kontak fisik.",
     C.SOCIAL_FRICTION, {S.SEDANG}),
    ("Tdk ada korban luka dlm kejadian itu, hanya cekcok antar simpatisan.", C.SOCIAL_FRICTION, {S.SEDANG}),
    ("Ratusan org pendukung paslon 2 mengepung TPS 4 dan terjadi keributan.", C.SOCIAL_FRICTION, {S.KRITIS}),
    ("tolooong ada bentrokkk antar pendukung di desa", C.VIOLENCE, {S.TINGGI}),
    ("Satu orang meninggal dunia setelah dibacok usai debat pendukung.", C.VIOLENCE, {S.KRITIS}),
    ("Kotak suara dirampas sekelompok orang di TPS 1.", C.VIOLENCE, {S.KRITIS}),
    ("Oknum TNI terlihat mengarahkan warga memilih paslon 1.", C.SECURITY_FORCES_NEUTRALITY, {S.SEDANG}),
    ("Tim paslon pasang baliho baru di masa tenang.", C.CAMPAIGN_VIOLATION, {S.RENDAH}),
    ("Situasi aman, tidak ada kejadian menonjol.", C.OTHER, {S.RENDAH}),
    ("Nihil. Aman terkendali.", C.OTHER, {S.RENDAH}),
    ("Tidak ada bentrok, tidak ada korban.", C.OTHER, {S.RENDAH}),
    ("Ratusan orang antre di TPS 3, situasi kondusif.", C.OTHER, {S.RENDAH}),
    ("", C.OTHER, {S.RENDAH}),
]


@pytest.mark.parametrize(("text", "category", "severities"), CASES, ids=[c[0][:40] for c in CASES])
def test_category_and_severity(text: str, category: Category, severities: set[Severity]) -> None:
    result = classify(text)
    assert (result.category, result.severity in severities) == (category, True), result.evidence
    assert 0.0 <= result.confidence <= 1.0


def test_the_worked_example_records_why() -> None:
    result = classify("Massa sekitar dua ratus orang membawa parang mendatangi TPS 03 dan membakar kotak suara, "
                      "dua petugas KPPS luka-luka.")
    joined = " ".join(result.evidence)
    for fired in ("parang", "*bakar*", "modifier crowd", "modifier tps_named", "ballot_boxes_seized_or_burnt"):
        assert fired in joined
    assert result.confidence >= 0.5


def test_negated_phrases_do_not_count_and_are_shown() -> None:
    result = classify("Tidak ada bentrok, tidak ada korban.")
    assert result.severity is Severity.RENDAH
    assert "negated:bentrok*" in result.evidence
    assert "negated:korban" in result.evidence


def test_negation_window_is_two_words() -> None:
    near = classify("Warga bukan dipukul.")
    far = classify("Tidak benar kabar bahwa warga itu dipukul.")
    assert near.category is Category.OTHER
    assert far.category is Category.VIOLENCE


def test_negation_stops_at_the_end_of_a_clause() -> None:
    assert classify("Tidak. Dipukul di depan TPS.").category is Category.VIOLENCE


def test_no_evidence_means_zero_confidence() -> None:
    assert classify("Mohon info.").confidence == 0.0


def test_hint_alone_is_a_weak_signal() -> None:
    result = classify("Mohon ditindaklanjuti, laporan terlampir.", Category.MONEY_POLITICS)
    assert result.category is Category.MONEY_POLITICS
    assert result.confidence < 0.5
    assert "money_politics+1.5:agency hint" in result.evidence


def test_hint_does_not_override_the_text() -> None:
    text = "Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka."
    assert classify(text, Category.LOGISTICS).category is Category.VIOLENCE
    assert classify("Situasi aman, tidak ada kejadian.", Category.VIOLENCE).category is Category.OTHER


def test_hint_tips_a_close_call() -> None:
    text = "Kepala dinas hadir di acara kampanye dengan mobil dinas."
    assert classify(text).category is Category.STATE_RESOURCE_MISUSE
    assert classify(text, Category.ASN_NEUTRALITY).category is Category.ASN_NEUTRALITY


def test_deterministic_and_versioned() -> None:
    text = "Ada serangan fajar, timses bagi amplop ke warga."
    assert classify(text) == classify(text)
    assert classify(text).rule_set_version == default_rules().version == "skeleton-1"
