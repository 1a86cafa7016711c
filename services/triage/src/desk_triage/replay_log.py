"""`desk-triage replay`: where the log comes from (NATS, read as the auditor reads it, or a JSON
Lines export), the progress shown on stderr, and the verdict (exit 0 identical, 1 different,
2 the replay could not be done)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from desk_shared.contracts import subjects
from desk_shared.contracts.regions import regions
from desk_shared.runtime.bus import connect
from desk_shared.runtime.progress import Progress
from desk_shared.runtime.settings import BusSettings
from desk_triage.classifier import LinearModel, RuleSet, default_model, default_rules, load_model, load_rules
from desk_triage.liaisons import Liaisons
from desk_triage.replay import Replay, ReplayFailed, Tally, decoded
from desk_triage.replay_compare import Difference
from desk_triage.replay_parallel import Message, Workers
from desk_triage.settings import TriageSettings

BATCH = 1000


# ----------------------------------------------------------------------------- sources
def export_batches(path: Path) -> Iterator[list[Message]]:
    """The export's messages in batches: each line {"seq", "subject", "data"} (the stored bytes as text, or
    "data_base64"); lines of another "kind" than "message" (`desk-audit export`'s header) are passed over."""
    batch: list[Message] = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row.get("kind", "message") != "message":
                    continue
                data = str(row["data"]).encode() if "data" in row else base64.b64decode(row["data_base64"])
                batch.append((int(row["seq"]), str(row["subject"]), data))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ReplayFailed(f"{path} line {number}: not {{seq, subject, data}}: {exc!r}") from exc
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


class NatsLog:
    """The log from sequence 1 to its end as it is when reading starts, through an ephemeral pull
    consumer: all the auditor's NATS user may do (no acks, nothing kept on the server)."""

    def __init__(self, bus: BusSettings) -> None:
        self._bus = bus
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self.last = 0

    async def __aenter__(self) -> NatsLog:
        self._nc = await connect(self._bus, "desk-triage-replay")
        js = self._nc.jetstream()
        self.last = int((await js.stream_info(self._bus.stream_name)).state.last_seq)
        if self.last:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE,
                                    inactive_threshold=30.0, mem_storage=True,
                                    description="desk-triage replay (an auditor's read, no acks)")
            self._sub = await js.pull_subscribe(subjects.ALL_EVENTS, stream=self._bus.stream_name, config=config)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._sub is not None:
            with contextlib.suppress(NatsError, TimeoutError):
                await self._sub.unsubscribe()
        if self._nc is not None:
            await self._nc.close()

    async def batches(self) -> AsyncIterator[list[Message]]:
        seq = 0
        while self._sub is not None and seq < self.last:
            msgs = await self._sub.fetch(BATCH, timeout=10)
            batch = [(m.metadata.sequence.stream, m.subject, m.data) for m in msgs]
            seq = batch[-1][0]
            yield [m for m in batch if m[0] <= self.last]


# ----------------------------------------------------------------------------- the command
@dataclass(frozen=True)
class Options:
    export: Path | None
    """None: the log from NATS."""
    rules: Path | None
    model: Path | None
    no_model: bool
    show: int
    progress: bool
    jobs: int = 1


def replay_maker(options: Options, settings: TriageSettings) -> Callable[[], Replay]:
    """Replays deciding as the triage service configured by `settings` does (its rules, model,
    routing, level priors, grouping window and 'cek segera' time; the rules and model may be named)."""
    rules_file = options.rules or settings.rules_file
    rules: RuleSet = load_rules(rules_file) if rules_file else default_rules()
    model: LinearModel | None = None
    if settings.use_model and not options.no_model:
        model_file = options.model or settings.model_file
        model = load_model(model_file) if model_file else default_model()
    liaisons = Liaisons(regions())
    desk = replace(settings.desk(), liaisons=liaisons.kecamatan, desk_liaisons=liaisons.desk)
    return lambda: Replay(rules, model, desk, settings.check_within)


class InProcess:
    """The replay in this process (one job)."""

    def __init__(self, replay: Replay) -> None:
        self._replay = replay

    @property
    def messages(self) -> int:
        return self._replay.tally.messages

    def feed(self, messages: Iterable[Message]) -> None:
        feed = self._replay.feed
        for seq, subject, data in messages:
            feed(seq, decoded(seq, subject, data), data)

    def finish(self) -> tuple[list[Difference], Tally]:
        tally = self._replay.finish()
        return self._replay.found, tally

    def stop(self) -> None:
        pass


def run(options: Options, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    sink: InProcess | Workers | None = None
    try:
        make = replay_maker(options, TriageSettings())
        sink = InProcess(make()) if options.jobs <= 1 else Workers(make, options.jobs)
        if options.export is not None:
            progress = Progress(_lines(options.export), err, label="replay") if options.progress else None
            for batch in export_batches(options.export):
                sink.feed(batch)
                if progress:
                    progress.update(sink.messages)
            if progress:
                progress.finish(sink.messages)
        else:
            asyncio.run(_from_nats(sink, BusSettings(), err if options.progress else None))
        found, tally = sink.finish()
    except (RuntimeError, OSError, ValueError, NatsError, TimeoutError) as exc:
        print(f"desk-triage replay: {exc}", file=err)
        return 2
    finally:
        if sink is not None:
            sink.stop()
    print(summary(tally, found, options.show), file=out)
    return 1 if found else 0


def _lines(path: Path) -> int:
    with path.open("rb") as data:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b""))


async def _from_nats(sink: InProcess | Workers, bus: BusSettings, err: TextIO | None) -> None:
    async with NatsLog(bus) as log:
        progress = Progress(log.last, err, label="replay") if err else None
        async for batch in log.batches():
            sink.feed(batch)
            if progress:
                progress.update(sink.messages)
        if progress:
            progress.finish(sink.messages)


def summary(tally: Tally, found: list[Difference], show: int) -> str:
    inputs = ", ".join(f"{n:,} {what}" for what, n in tally.inputs.items())
    lines = [f"replayed {tally.messages:,} events (to seq {tally.last_seq:,}): {inputs or 'no inputs'}; "
             f"{tally.compared:,} events triage derived compared with the replay's"]
    if tally.untriaged:
        lines.append(f"{tally.untriaged:,} report(s) at the end of the log not triaged yet (not compared)")
    if not found:
        lines.append("IDENTICAL: every event triage derived is the one the replay derives")
        return "\n".join(lines)
    lines.append(f"DIFFERENT: {len(found):,} difference(s); the first {min(show, len(found))}:")
    lines += [f"  {difference}" for difference in found[:show]]
    return "\n".join(lines)
