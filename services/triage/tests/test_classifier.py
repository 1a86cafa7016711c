"""The shipped rule set on sentences written for these tests: negation, denial, the decision rules,
severity modifiers, the agency hint, evidence and versions. (Accuracy is measured on the corpus.)"""

from __future__ import annotations

import pytest

from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier import Classification, classify, default_model, default_rules

C, S = Category, Severity


def rules_only(text: str, hint: Category | None = None) -> Classification:
    return classify(text, hint, default_rules())


def test_the_worked_example_is_critical_violence_and_says_why() -> None:
    result = rules_only("Massa sekitar dua ratus orang membawa parang mendatangi TPS 03 dan membakar kotak suara, "
                        "dua petugas KPPS luka-luka.")
    assert (result.category, result.severity) == (C.VIOLENCE, S.KRITIS)
    joined = " ".join(result.evidence)
    for fired in ("modifier weapon", "modifier injury", "modifier fire", "ballots_lost_or_destroyed"):
        assert fired in joined
    assert result.confidence >= 0.5


def test_negated_injuries_do_not_make_a_quarrel_critical() -> None:
    result = rules_only("Tidak ada korban luka, hanya adu mulut antar simpatisan di pasar.")
    assert result.category is C.SOCIAL_FRICTION
    assert not result.severity.escalates
    assert any(e.startswith("negated:") and "luka" in e for e in result.evidence)


def test_negation_reaches_past_transparent_words_only_within_its_clause() -> None:
    calm = rules_only("Pendukung kedua paslon berdebat, tetapi tidak sampai terjadi kontak fisik.")
    assert not calm.severity.escalates
    reached = rules_only("Tidak ada yang lari. Dua warga luka dibacok pendukung paslon lawan.")
    assert (reached.category, reached.severity) == (C.VIOLENCE, S.KRITIS)


def test_a_rumour_checked_and_denied_is_other() -> None:
    result = rules_only("Beredar isu pembagian amplop di Desa Penampaan. Setelah dicek bersama Panwascam, "
                        "ternyata tidak benar. Situasi aman.")
    assert (result.category, result.severity) == (C.OTHER, S.RENDAH)
    assert any(e.startswith("denial") for e in result.evidence)


def test_a_reporter_calling_a_spread_claim_false_is_slander_not_denial() -> None:
    result = rules_only("Beredar video editan yang menuduh paslon 2 menerima suap, padahal itu tidak benar. "
                        "Mohon penyebarnya ditindak.")
    assert result.category is C.SLANDER_HOAX_HATE


def test_state_resources_come_before_who_acts() -> None:
    result = rules_only("Kepala desa membagikan BLT dana desa sambil meminta warga memilih paslon nomor 1.")
    assert result.category is C.STATE_RESOURCE_MISUSE


def test_who_acts_decides_the_neutrality_category() -> None:
    village = rules_only("Kepala desa Bacang membagikan amplop berisi uang untuk paslon 2 dari rumah ke rumah.")
    assert village.category is C.VILLAGE_OFFICIAL_NEUTRALITY
    assert any(e.startswith("precedence who_acts") for e in village.evidence)
    police = rules_only("Oknum polisi mengancam warga agar memilih paslon nomor 3.")
    assert police.category is C.SECURITY_FORCES_NEUTRALITY


def test_officials_who_only_report_or_relatives_of_officials_are_not_the_actors() -> None:
    assert rules_only("Istri kepala desa membagikan amplop dan sembako dari caleg nomor 5 ke ibu-ibu "
                      "pengajian.").category is C.MONEY_POLITICS
    reported = rules_only("Babinsa dan Bhabinkamtibmas telah berkoordinasi mengamankan lokasi. Tim sukses paslon 1 "
                          "membagikan amplop berisi uang kepada warga.")
    assert reported.category is C.MONEY_POLITICS


@pytest.mark.parametrize(("text", "category", "severity"), [
    ("Seorang pria mengacungkan golok di depan TPS 2 sambil menyuruh pemilih memilih paslon 1.",
     C.INTIMIDATION, S.KRITIS),
    ("Posko pemenangan paslon 1 dibakar orang tak dikenal tadi malam.", C.VIOLENCE, S.KRITIS),
    ("Ketua KPPS TPS 4 diancam akan dibunuh jika hasil penghitungan tidak diubah.", C.INTIMIDATION, S.KRITIS),
    ("Warga pendukung paslon 3 diancam akan dipukuli kalau datang ke kampanye besok.", C.INTIMIDATION, S.TINGGI),
    ("Dua kelompok pendukung saling dorong di depan posko, tidak ada yang terluka.", C.VIOLENCE, S.TINGGI),
    ("Sampai pukul 09.00 TPS 5 belum bisa dibuka karena surat suara belum datang, pemilih sudah antre.",
     C.LOGISTICS, S.TINGGI),
])
def test_severity_modifiers_raise_the_level(text: str, category: Category, severity: Severity) -> None:
    result = rules_only(text)
    assert (result.category, result.severity) == (category, severity), result.evidence


def test_modifiers_only_raise_and_never_touch_other() -> None:
    assert rules_only("Tinta di TPS 1 kurang, sudah diganti PPS.").severity in (S.RENDAH, S.SEDANG)
    calm = rules_only("Situasi aman terkendali, massa kampanye sudah bubar dengan tertib, nihil kejadian.")
    assert (calm.category, calm.severity) == (C.OTHER, S.RENDAH)


def test_the_agency_hint_is_one_signal_not_the_answer() -> None:
    critical = "Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka."
    assert rules_only(critical, C.LOGISTICS).category is C.VIOLENCE
    weak = rules_only("Mohon ditindaklanjuti, laporan terlampir.", C.MONEY_POLITICS)
    assert weak.category is C.OTHER and "agency_hint_differs" in weak.review_reasons
    close = "Kepala dinas hadir di acara kampanye dengan mobil dinas."
    assert rules_only(close).category is C.STATE_RESOURCE_MISUSE
    tipped = rules_only("Kepala dinas hadir di acara kampanye paslon 1.", C.ASN_NEUTRALITY)
    assert tipped.category is C.ASN_NEUTRALITY
    assert any(e.endswith("agency hint") for e in tipped.evidence)


def test_no_evidence_means_other_flagged_for_review() -> None:
    result = rules_only("Laporan terlampir.")
    assert (result.category, result.needs_review) == (C.OTHER, True) and result.confidence < 0.2
    assert "low_confidence" in result.review_reasons


def test_deterministic_and_versioned() -> None:
    text = "Ada serangan fajar, timses bagi amplop ke warga jam 5 pagi."
    model = default_model()
    first, again = classify(text, None, default_rules(), model), classify(text, None, default_rules(), model)
    assert first == again
    assert first.rule_set_version == default_rules().version and first.rule_set_version.startswith("2026.")
    assert model is not None and first.model_version == model.version
    assert (first.category, first.severity) == (C.MONEY_POLITICS, S.TINGGI)  # handed out at dawn: can still be caught


@pytest.mark.parametrize(("change", "message"), [
    (('unless = ["weapon",', 'unless = ["senjata",'), "`unless` names unknown modifiers"),
    (('check_modifiers = ["handout_now",', 'check_modifiers = ["uang_now",'), "check_modifiers names unknown"),
    (('when = ["coercion_by_power"]', 'when = ["paksaan"]'), "`when` names unknown modifiers"),
    (('unless = ["groups_mobilising",', 'unless = ["massa",'), "denial.unless names unknown"),
])
def test_a_rule_file_naming_a_modifier_that_does_not_exist_is_refused(change: tuple[str, str], message: str) -> None:
    from importlib.resources import files

    from desk_triage.classifier.rules import RuleSet

    text = files("desk_triage.classifier").joinpath("rules.toml").read_text()
    assert change[0] in text
    with pytest.raises(ValueError, match=message):
        RuleSet.from_bytes(text.replace(change[0], change[1], 1).encode())


def test_a_village_head_threatening_that_aid_stops_is_his_neutrality_not_state_resources() -> None:
    """The guidelines' own example: the aid is the threat, the kepala desa is who acts."""
    rules, model = default_rules(), default_model()
    threat = classify("Kades Sukamaju bilang ke warga penerima BLT, kalau tidak pilih paslon 2 namanya dicoret "
                      "dari daftar BLT", None, rules, model)
    assert (threat.category, threat.severity) == (Category.VILLAGE_OFFICIAL_NEUTRALITY, Severity.TINGGI)
    assert any(e.startswith("precedence coercion_by_who_acts") for e in threat.evidence)
    handout = classify("Kades Sukamaju membagikan beras BLT kepada warga sambil membagikan stiker paslon 2",
                       None, rules, model)
    assert handout.category is Category.STATE_RESOURCE_MISUSE  # handing the aid out: state resources first
