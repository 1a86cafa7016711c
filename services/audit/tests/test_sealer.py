"""Sealers on a real nats-server: two at once never seal a range twice, a new one continues from the
log's own seals, and the seals verify; a log with a gap is refused, not sealed over."""

from __future__ import annotations

import asyncio

from desk_audit import checks
from desk_audit.notes import SigningKey
from desk_audit.sealer import Sealer, load
from desk_audit.verify import Verifier
from desk_audit.witnessing import Cosigner
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing import samples

KEY = SigningKey.generate("desk-sealer-test")


async def sealer(bus: BusSettings, max_range: int = 30) -> Sealer:
    nc = await connect(bus, "sealer")
    js = nc.jetstream()
    found = Sealer(js, EventPublisher(js, bus), bus.stream_name, KEY, "test", Cosigner([]), max_range)
    await found.start()
    return found


async def test_two_sealers_at_once_seal_every_range_once(bus: BusSettings) -> None:
    nc = await connect(bus, "writer")
    js = nc.jetstream()
    await ensure_streams(js, bus)
    publisher = EventPublisher(js, bus)
    one, two = await sealer(bus), await sealer(bus)
    for start in range(0, 300, 50):
        await publisher.publish_all([samples.report_submitted(n) for n in range(start, start + 50)])
        await asyncio.gather(one.seal_once(), two.seal_once(), one.seal_once(), two.seal_once())
    while await one.seal_once() or await two.seal_once():
        pass
    state = await load(js, bus.stream_name)
    last = (await js.stream_info(bus.stream_name)).state.last_seq
    assert state.sealed == last - 1 and len(state.leaves) == state.sealed  # all but the last seal, once each
    outcome = await checks.verify_stream(js, bus.stream_name, Verifier(KEY.verifier))
    assert outcome.clean and outcome.sealed_to == last - 1, outcome.findings[:3]

    later = await sealer(bus)  # a restarted sealer goes on from the seals in the log
    assert later.state.sealed == state.sealed
    await publisher.publish_all([samples.report_submitted(n) for n in range(300, 320)])
    assert await later.seal_once() == 21  # the twenty and the last seal
    outcome = await checks.verify_stream(js, bus.stream_name, Verifier(KEY.verifier))
    assert outcome.clean and outcome.unsealed == 1
    await nc.close()

