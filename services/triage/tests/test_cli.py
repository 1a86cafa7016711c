"""`desk-triage` commands: classify a text, evaluate on the corpus, rebuild the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desk_triage.__main__ import PACKAGED_MODEL, main

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_classify_prints_the_decision_and_its_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "Massa membakar kotak suara di TPS 3, dua petugas KPPS luka-luka."]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["category"], result["severity"]) == ("violence", "kritis")
    assert result["evidence"] and result["rule_set_version"] and result["model_version"]


def test_classify_with_a_reviewers_rule_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packaged = (PACKAGED_MODEL.parent / "rules.toml").read_text(encoding="utf-8")
    changed = tmp_path / "rules.toml"
    changed.write_text(packaged.replace('version = "', 'version = "review-', 1), encoding="utf-8")
    assert main(["classify", "--rules", str(changed), "--no-model", "--hint", "logistics", "Mohon info."]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rule_set_version"].startswith("review-") and result["model_version"] is None


def test_a_broken_rule_file_is_refused_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "rules.toml"
    broken.write_text('version = "x"\ncategroy = []\n', encoding="utf-8")
    assert main(["classify", "--rules", str(broken), "teks"]) == 2
    assert "categroy" in capsys.readouterr().err


def test_evaluate_reports_the_test_part_and_checks_the_goals(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--corpus", str(CORPUS), "--check", "--no-cross-validation"])
    out = capsys.readouterr().out
    goals = next(line for line in out.splitlines() if line.startswith("goals on test part 5:"))
    unmet = [part for part in goals.split(":", 1)[1].split(",") if " < " in part or " > " in part]
    assert code == (1 if unmet else 0), goals  # --check fails exactly when a printed goal is not met
    for expected in ("TEST part 5", "TEST part 1", "macro-F1", "urgent recall", "urgent precision", "cek segera",
                     "Cohen's kappa", "confusion", "DEV part"):
        assert expected in out


def test_evaluate_names_a_missing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--corpus", str(tmp_path)]) == 2
    assert f"{tmp_path}/test5.jsonl: No such file" in capsys.readouterr().err


def test_the_shipped_model_is_what_build_model_makes_from_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-model", "--corpus", str(CORPUS), "--check"]) == 0, capsys.readouterr().out


def test_build_model_writes_a_loadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "model.json"
    assert main(["build-model", "--corpus", str(CORPUS), "--output", str(target)]) == 0
    assert target.read_bytes() == PACKAGED_MODEL.read_bytes()
    assert "written to" in capsys.readouterr().out
