"""A durable JetStream pull consumer with a deliberate ack policy.

Why not FastStream's subscriber here: its NATS default terminates a message whose handler
raised (a database outage would drop events), and a subscriber whose consumer vanished
idles silently. This loop acks only after the handler (and its publishes) succeeded, naks
with exponential back-off, dead-letters after `max_deliver` attempts or at once for a
poison message, and re-verifies its stream and consumer after any error, loudly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from desk_shared.bus import DeadLetters, EventPublisher, connect
from desk_shared.events import Event, UndecodableEvent, UnknownEventType, decode_event
from desk_shared.service import sleep_unless
from desk_shared.settings import BusSettings
from desk_shared.streams import ensure_streams

log = logging.getLogger(__name__)


class Poison(Exception):
    """The message can never be processed (undecodable, invalid): dead-letter it now."""


Handler = Callable[[Msg], Awaitable[None]]
E = TypeVar("E", bound=Event)


def decode_as(msg: Msg, kind: type[E]) -> E | None:
    """The message's event if it is a `kind`; None (logged) for any other or unknown type;
    `Poison` if it is no event at all."""
    try:
        event = decode_event(msg.data)
    except UndecodableEvent as exc:
        raise Poison(str(exc)) from exc
    except UnknownEventType as exc:
        log.warning("ignoring event of unknown type %s on %s", exc, msg.subject)
        return None
    if not isinstance(event, kind):
        log.warning("ignoring %s on %s", event.event_type, msg.subject)
        return None
    return event


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    filter_subject: str
    max_deliver: int = 10
    ack_wait_seconds: float = 30.0
    batch: int = 32
    first_retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    parallel: bool = False
    """Handle the messages of one fetch concurrently, where order does not matter (alerts):
    one slow message then does not hold the others past their ack wait."""

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            filter_subject=self.filter_subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_deliver=self.max_deliver,
            max_ack_pending=1000,
        )

    def retry_delay(self, delivered: int) -> float:
        return min(self.first_retry_delay * 2 ** max(delivered - 1, 0), self.max_retry_delay)


class DurableConsumer:
    def __init__(self, js: JetStreamContext, settings: BusSettings, spec: ConsumerSpec,
                 dead_letters: DeadLetters) -> None:
        self._js = js
        self._settings = settings
        self._spec = spec
        self._dead_letters = dead_letters

    async def ensure(self) -> None:
        """Verify the streams and this consumer exist; create what is missing."""
        await ensure_streams(self._js, self._settings)
        stream = self._settings.stream_name
        try:
            await self._js.consumer_info(stream, self._spec.name)
            log.info("consumer %s on %s verified, consuming %s", self._spec.name, stream, self._spec.filter_subject)
        except NotFoundError:
            await self._js.add_consumer(stream, self._spec.config())
            log.warning("consumer %s on %s was missing: created, consuming %s", self._spec.name, stream,
                        self._spec.filter_subject)

    async def run(self, handler: Handler, stop: asyncio.Event) -> None:
        sub: JetStreamContext.PullSubscription | None = None
        while not stop.is_set():
            try:
                if sub is None:
                    await self.ensure()
                    sub = await self._js.pull_subscribe_bind(self._spec.name, self._settings.stream_name)
                msgs = await sub.fetch(self._spec.batch, timeout=1.0)
                if self._spec.parallel:
                    await asyncio.gather(*(self._settle(msg, handler) for msg in msgs))
                else:  # one at a time: order within the consumer is kept
                    for msg in msgs:
                        await self._settle(msg, handler)
            except (TimeoutError, NatsTimeoutError):
                continue
            except Exception as exc:  # consumer or stream gone, an ack not sent: verify, redelivery does the rest
                log.error("consumer %s: %r; verifying stream and consumer in 1 s", self._spec.name, exc)
                sub = await _drop(sub)
                await sleep_unless(stop, 1.0)
        await _drop(sub)

    async def _settle(self, msg: Msg, handler: Handler) -> None:
        delivered = msg.metadata.num_delivered
        try:
            await handler(msg)
        except Poison as exc:
            await self._give_up(msg, f"poison: {exc}")
        except Exception as exc:
            if delivered >= self._spec.max_deliver:
                await self._give_up(msg, f"failed {delivered} times, last: {exc!r}")
            else:
                delay = self._spec.retry_delay(delivered)
                log.warning("%s: attempt %d of seq %s failed (%r); retry in %.1f s", self._spec.name,
                            delivered, msg.metadata.sequence.stream, exc, delay)
                await msg.nak(delay=delay)
        else:
            await msg.ack()

    async def _give_up(self, msg: Msg, reason: str) -> None:
        try:
            await self._dead_letters.put(msg, reason)
        except Exception as exc:  # keep it in the consumer rather than lose it
            log.error("%s: could not dead-letter seq %s (%r); will retry", self._spec.name,
                      msg.metadata.sequence.stream, exc)
            await msg.nak(delay=self._spec.max_retry_delay)
            return
        await msg.term()


async def consume(bus: BusSettings, spec: ConsumerSpec, handler_for: Callable[[EventPublisher], Handler],
                  stop: asyncio.Event) -> None:
    """Connect, run a durable consumer with the handler built for its publisher until `stop`, drain."""
    nc = await connect(bus, f"desk-{spec.name}")
    try:
        js = nc.jetstream()
        publisher = EventPublisher(js, bus)
        consumer = DurableConsumer(js, bus, spec, DeadLetters(publisher, bus, spec.name))
        await consumer.run(handler_for(publisher), stop)
        log.info("%s stopping", spec.name)
    finally:
        if not nc.is_closed:
            await nc.drain()


async def _drop(sub: JetStreamContext.PullSubscription | None) -> None:
    if sub is not None:
        try:
            await sub.unsubscribe()
        except Exception as exc:
            log.debug("unsubscribe failed: %r", exc)
    return None
