"""The labelled corpus: reports with category and severity in JSON Lines, in two parts.

- `dev.jsonl`: the development part; rules are written and the model is trained on it.
- `test.jsonl`: the test part, written separately from the rules and never tuned against.
- `test_labellings.jsonl`: the two independent labellings of every test report, as first given
  (before disagreements were settled by rewording), for the agreement (Cohen's kappa).
- `test2.jsonl`, `test3.jsonl` and their labellings: the held-out parts of issue 16 (`TEST_PARTS`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desk_shared.contracts.events import KecamatanCode, VillageCode
from desk_shared.contracts.taxonomy import Category, Severity

DEV = "dev.jsonl"
TEST = "test.jsonl"
LABELLINGS = "test_labellings.jsonl"


@dataclass(frozen=True)
class HeldOutPart:
    name: str
    reports: str
    labellings: str
    about: str


TEST_PARTS = (
    HeldOutPart("part 5", "test5.jsonl", "test5_labellings.jsonl",
                "issue 16's fifth part: four other writers, eight regencies, revised guidelines; evaluated once"),
    HeldOutPart("part 1", TEST, LABELLINGS, "issue 10's labels and guidelines"),
)
"""The held-out parts, the one the goals are judged on first."""

RETIRED = ("test2.jsonl", "test3.jsonl", "test4.jsonl")
"""Issue 16's earlier held-out parts: each was evaluated once (README), then joined the development
part, so that the model learns from more writers and the next part judges it."""


def load_training(directory: Path) -> list[LabelledReport]:
    """The development part and the retired held-out parts: what rules are tuned and the model trained on."""
    reports = [r for name in (DEV, *RETIRED) for r in load_part(directory, name)]
    if len({r.id for r in reports}) != len(reports):
        raise CorpusError(f"{directory}: an id occurs in two parts")
    return reports

Style = Literal["formal", "citizen", "sms", "regional", "short", "long", "recap"]
Hard = Literal["negation", "rumour_denied", "passing_mention", "mixed", "misleading_hint"]


class LabelledReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    kecamatan: KecamatanCode
    village: VillageCode | None
    hint: Category | None
    category: Category
    severity: Severity
    style: Style
    hard: tuple[Hard, ...]


class Labelling(BaseModel):
    """One test report's two independent labellings, and how a disagreement was settled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    a_category: Category
    a_severity: Severity
    b_category: Category
    b_severity: Severity
    settled: Literal["agreed", "reworded", "third labeller"]
    c_severity: Severity | None = None
    """A third labeller's severity, where the first two disagreed (the majority decided)."""


T = TypeVar("T", bound=BaseModel)


class CorpusError(ValueError):
    """A corpus file that cannot be read: names the file and line."""


def corpus_dir() -> Path:
    """`DESK_TRIAGE_CORPUS_DIR`, else `services/triage/corpus` under the current directory."""
    return Path(os.environ.get("DESK_TRIAGE_CORPUS_DIR", "services/triage/corpus"))


def _read(path: Path, model: type[T]) -> list[T]:
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CorpusError(f"{path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            raise CorpusError(f"{path}:{number}: {exc}") from exc
    return items


def load_part(directory: Path, name: str) -> list[LabelledReport]:
    reports = _read(directory / name, LabelledReport)
    ids = [r.id for r in reports]
    if len(set(ids)) != len(ids):
        raise CorpusError(f"{directory / name}: duplicate ids")
    return reports


def load_labellings(directory: Path, name: str = LABELLINGS) -> list[Labelling]:
    return _read(directory / name, Labelling)


def dump_part(reports: Sequence[LabelledReport]) -> str:
    return "".join(json.dumps(r.model_dump(mode="json"), ensure_ascii=False) + "\n" for r in reports)
