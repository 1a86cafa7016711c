"""Benchmark: the triage classifier alone, on one core, beside a baseline measured in the same run.

    .venv/bin/python bench/classifier.py [--rounds 7] [--seconds 1.0]

Texts: every report of the labelled corpus (development and test parts). Baseline: plain
lower-casing and splitting of the same texts, the least any text classifier must do. Rounds
alternate baseline and classifier so the shared machine's noise hits both; the median round
is reported, with the classifier's rate as a ratio of the baseline's."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

from desk_triage.classifier import classify, default_model, default_rules
from desk_triage.quality.corpus import DEV, TEST, corpus_dir, load_part


def rate(work: Callable[[str], object], texts: Sequence[str], seconds: float) -> float:
    """Reports per second over whole passes through `texts`, for at least `seconds`."""
    done = 0
    start = time.perf_counter()
    while True:
        for text in texts:
            work(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                     platform.processor() or "unknown cpu")
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, pinned to one core"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    reports = load_part(corpus_dir(), DEV) + load_part(corpus_dir(), TEST)
    texts = [r.text for r in reports]
    hints = {r.text: r.hint for r in reports}
    rules, model = default_rules(), default_model()
    candidates: dict[str, Callable[[str], object]] = {
        "baseline: lower() + split()": lambda t: t.lower().split(),
        "classifier, rules only": lambda t: classify(t, hints[t], rules),
        "classifier, rules + model": lambda t: classify(t, hints[t], rules, model),
    }
    if model is None:
        del candidates["classifier, rules + model"]
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.rounds):
        for name, work in candidates.items():
            rates[name].append(rate(work, texts, args.seconds))
    print(f"machine: {machine()}")
    print(f"texts: {len(texts)} corpus reports, mean {sum(map(len, texts)) / len(texts):.0f} characters; "
          f"median of {args.rounds} rounds")
    baseline = statistics.median(rates[next(iter(rates))])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<30} {median:>12,.0f} reports/s   {median / baseline:6.3f} x baseline")


if __name__ == "__main__":
    main()
