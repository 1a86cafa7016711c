"""`desk-triage` / `python -m desk_triage`: run the triage service (the default), work with the
classifier (try it on a text, evaluate it on the labelled corpus, rebuild its model), or replay
the event log through triage's decisions for an auditor."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from desk_shared.contracts.taxonomy import Category
from desk_shared.runtime.process import serve
from desk_triage.classifier import LinearModel, RuleSet, classify, default_model, default_rules, load_model, load_rules
from desk_triage.settings import TriageSettings

PACKAGED_MODEL = Path(__file__).parent / "classifier" / "model.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk-triage", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="consume ReportSubmitted and publish decisions (default)")

    def classifier_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--rules", type=Path, help="a rules.toml to use instead of the packaged one")
        command.add_argument("--model", type=Path, help="a model file to use instead of the packaged one")
        command.add_argument("--no-model", action="store_true", help="rules alone")

    try_cmd = commands.add_parser("classify", help="classify a text (argument or standard input) and show why")
    classifier_options(try_cmd)
    try_cmd.add_argument("--hint", type=Category, choices=list(Category), help="an agency's category hint")
    try_cmd.add_argument("text", nargs="*", help="the report text (default: read standard input)")

    evaluate_cmd = commands.add_parser("evaluate", help="measure the classifier on the labelled corpus")
    classifier_options(evaluate_cmd)
    evaluate_cmd.add_argument("--corpus", type=Path, help="the corpus folder (default services/triage/corpus)")
    evaluate_cmd.add_argument("--check", action="store_true", help="exit 1 unless the test part meets the goals")
    evaluate_cmd.add_argument("--no-cross-validation", action="store_true",
                              help="skip the development part's cross-validation (it trains the model five times)")

    grouping_cmd = commands.add_parser("evaluate-grouping",
                                       help="measure grouping on labelled report streams (pairwise precision, recall)")
    classifier_options(grouping_cmd)
    grouping_cmd.add_argument("streams", nargs="*", type=Path,
                              help="stream files or folders (default: the corpus's grouping folder)")
    grouping_cmd.add_argument("--mistakes", action="store_true", help="list the reports grouped wrongly")

    build_cmd = commands.add_parser("build-model", help="train the model on the corpus's development part")
    build_cmd.add_argument("--rules", type=Path, help="a rules.toml to use instead of the packaged one")
    build_cmd.add_argument("--corpus", type=Path, help="the corpus folder (default services/triage/corpus)")
    build_cmd.add_argument("--output", type=Path, default=PACKAGED_MODEL, help="where to write (default: packaged)")
    build_cmd.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 unless a rebuild equals the file at --output byte for byte")

    replay_cmd = commands.add_parser(
        "replay", help="replay the log through triage's decisions and compare every event it derived (exit 0 "
                       "identical, 1 different, 2 error); decides as the service's DESK_TRIAGE_* settings say")
    source = replay_cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-nats", action="store_true",
                        help="read the log from NATS (DESK_NATS_URL; DESK_NATS_USER=auditor suffices)")
    source.add_argument("--export", type=Path, metavar="FILE",
                        help="read a JSON Lines export: one {\"seq\", \"subject\", \"data\"} per line")
    classifier_options(replay_cmd)
    replay_cmd.add_argument("--jobs", type=int, default=min((os.cpu_count() or 1) + 1, 8),
                            help="worker processes, each replaying some kecamatan (default: one more than the cores, "
                                 "at most 8: kecamatan differ in size); 1: in this process")
    replay_cmd.add_argument("--show", type=int, default=20, help="differences shown at most (all are counted)")
    replay_cmd.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    return parser


def _rules(args: argparse.Namespace) -> RuleSet:
    return load_rules(args.rules) if args.rules else default_rules()


def _model(args: argparse.Namespace) -> LinearModel | None:
    if args.no_model:
        return None
    return load_model(args.model) if args.model else default_model()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError) as exc:  # an unreadable or invalid rules, model or corpus file
        print(f"desk-triage {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command in (None, "serve"):
        from desk_triage.bootstrap import run

        settings = TriageSettings()
        serve("triage", lambda bus, stop: run(settings, bus, stop))
        return 0
    if args.command == "replay":
        from desk_triage.replay_log import Options
        from desk_triage.replay_log import run as replay

        return replay(Options(args.export, args.rules, args.model, args.no_model, args.show, not args.no_progress,
                              args.jobs))
    if args.command == "classify":
        text = " ".join(args.text) if args.text else sys.stdin.read()
        result = classify(text, args.hint, _rules(args), _model(args))
        print(json.dumps({k: (v.value if isinstance(v, Category) else v) for k, v in vars(result).items()},
                         ensure_ascii=False, indent=2, default=str))
        return 0
    try:
        from desk_triage.quality.corpus import corpus_dir
        from desk_triage.quality.evaluate import report
    except ImportError as exc:  # scikit-learn is only in the development environment
        print(f"desk-triage {args.command} needs the development environment ({exc.name} missing)", file=sys.stderr)
        return 2
    if args.command == "evaluate-grouping":
        return _grouping(args, corpus_dir())
    directory = args.corpus or corpus_dir()
    if args.command == "evaluate":
        text, met = report(directory, _rules(args), _model(args), cross_validate=not args.no_cross_validation)
        print(text, end="")
        return 1 if args.check and not met else 0
    return _build(args, directory)


def _grouping(args: argparse.Namespace, directory: Path) -> int:
    from desk_triage.incidents.decide import Desk
    from desk_triage.quality.grouping import STREAMS_DIR, grouped, load_streams, measure, mistakes, render

    rules, model = _rules(args), _model(args)
    for path in args.streams or sorted((directory / STREAMS_DIR).glob("*.jsonl")):
        rows = load_streams(path)
        incident_of = grouped(rows, rules, model, Desk())
        print(render(path.name, measure(rows, incident_of)))
        if args.mistakes:
            print("\n".join(f"  {line}" for line in mistakes(rows, incident_of)))
    return 0


def _build(args: argparse.Namespace, directory: Path) -> int:
    from desk_triage.quality.corpus import load_training
    from desk_triage.quality.training import train

    built = train(load_training(directory), _rules(args))
    version = LinearModel.from_json(built).version
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == built
        print(f"model {version}: {'identical to' if same else 'DIFFERS from'} {args.output}")
        return 0 if same else 1
    args.output.write_bytes(built)
    print(f"model {version} written to {args.output} ({len(built):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
