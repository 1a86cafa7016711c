"""A small state folded from the events on one subject, kept current as the log grows.

How intake will know the agencies and their keys: every replica folds the same events in the
same (log) order, so all of them agree, and a revocation reaches each as fast as JetStream
pushes it. An ordered push consumer (no acks, nothing kept on the server) reads the subject
from its start; `start` returns once the state has caught up with the log as it was."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from desk_shared.contracts.envelope import Event, UndecodableEvent, UnknownEventType, decode_event

log = logging.getLogger(__name__)

S = TypeVar("S")


class Follower(Generic[S]):
    def __init__(self, js: JetStreamContext, stream: str, subject: str, initial: S,
                 evolve: Callable[[S, Event], S], since: datetime | None = None,
                 relevant: Callable[[str], bool] | None = None) -> None:
        self._js, self._stream, self._subject = js, stream, subject
        self._relevant = relevant
        """Only messages on subjects it accepts are decoded and folded (the others cost nothing)."""
        self._since = since
        """Fold only what was stored from this time on (None: the subject's whole history)."""
        self._state = initial
        self._evolve: Callable[[S, Event, int], S] = lambda state, event, _seq: evolve(state, event)
        self._caught_up = asyncio.Event()
        self._moved = asyncio.Condition()
        self._subscription: Subscription | None = None
        self._own: set[str] = set()
        """Msg-Ids of events folded by `fold_own`, not yet seen again in the log."""
        self.position = 0
        """The stream sequence of the last message folded in."""

    @classmethod
    def sequenced(cls, js: JetStreamContext, stream: str, subject: str, initial: S,
                  evolve: Callable[[S, Event, int], S]) -> Follower[S]:
        """A follower whose fold also gets each event's stream sequence (a state that must know
        where in the log it stands, to append on condition)."""
        follower = cls(js, stream, subject, initial, lambda state, _event: state)
        follower._evolve = evolve
        return follower

    def fold_own(self, events: Sequence[tuple[Event, int]]) -> S:
        """Fold events this process itself just appended (with their stream sequences) without
        waiting for the log to deliver them; the fold must ignore them when they arrive."""
        for event, seq in events:
            if seq <= self.position:  # the log delivered it first: folded already
                continue
            self._state = self._evolve(self._state, event, seq)
            self._own.add(str(event.event_id))
        return self._state

    async def reached(self, seq: int) -> S:
        """The state once it includes the message at stream sequence `seq` (or a later one on the
        subject); bound the wait with `asyncio.timeout`."""
        async with self._moved:
            await self._moved.wait_for(lambda: self.position >= seq)
        return self._state

    @property
    def state(self) -> S:
        """The fold so far (immutable: callers keep a consistent snapshot)."""
        return self._state

    async def start(self) -> S:
        """Subscribe; return the state once it includes everything stored when this was called
        (bound the wait with `asyncio.timeout`)."""
        config = None
        if self._since is not None:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME,
                                    opt_start_time=self._since.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        self._subscription = await self._js.subscribe(self._subject, stream=self._stream, ordered_consumer=True,
                                                      cb=self._on_message, config=config)
        info = await self._subscription.consumer_info()
        if info.num_pending == 0 and not (info.delivered and info.delivered.consumer_seq):
            self._caught_up.set()  # nothing to fold (a message on its way would set it itself)
        await self._caught_up.wait()
        return self._state

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _on_message(self, msg: Msg) -> None:
        meta = msg.metadata
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        if msg_id is not None and msg_id in self._own:  # folded already, when this process appended it
            self._own.discard(msg_id)
        elif self._relevant is None or self._relevant(msg.subject):
            try:
                self._state = self._evolve(self._state, decode_event(msg.data), meta.sequence.stream)
            except (UndecodableEvent, UnknownEventType) as exc:  # stays in the log for an auditor; folds nothing
                log.warning("skipped message %d on %s: %s", meta.sequence.stream, msg.subject, exc)
        self.position = meta.sequence.stream
        if meta.num_pending == 0:
            self._caught_up.set()
        async with self._moved:
            self._moved.notify_all()


async def folded(js: JetStreamContext, stream: str, subject: str, initial: S,
                 evolve: Callable[[S, Event], S]) -> S:
    """The fold of every event on `subject` stored now (a one-off read)."""
    follower = Follower(js, stream, subject, initial, evolve)
    try:
        return await follower.start()
    finally:
        await follower.stop()
