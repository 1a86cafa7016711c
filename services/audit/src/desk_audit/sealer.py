"""The sealer: every few seconds, what the log holds beyond the last seal is sealed.

Its state is the log's own: at start it reads every `AuditSealed` (their leaf lists make the whole
tree, needed for witnesses' consistency proofs), so a restarted or second sealer continues where
the last seal ended. A seal is appended on condition that no other seal was appended since the
one it extends (JetStream's expected last subject sequence): two replicas never seal twice."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from desk_audit import source
from desk_audit.merkle import Frontier, Tree, root_of
from desk_audit.notes import Checkpoint, SigningKey, sign
from desk_audit.seals import Seal, every_seal
from desk_audit.verify import ZERO_CHAIN, chain_step, split_leaves
from desk_audit.witnessing import Cosigner
from desk_shared.contracts.audit import AuditSealed, AuditSealedPayload
from desk_shared.contracts.envelope import Actor
from desk_shared.runtime.publisher import AppendConflict, EventPublisher, Expected

log = logging.getLogger(__name__)
PRODUCER = "audit"


class BrokenLog(RuntimeError):
    """The log cannot be sealed as it is (a gap, or seals that do not follow each other): an operator must look."""


@dataclass
class SealState:
    leaves: list[bytes] = field(default_factory=list)
    """Every sealed leaf hash, from sequence 1."""
    frontier: Frontier = field(default_factory=Frontier)
    chain: bytes = ZERO_CHAIN
    seal_seq: int = 0
    """The stream sequence of the last AuditSealed (0: none yet)."""
    witness_sizes: dict[str, int] = field(default_factory=dict)
    """The tree size each witness last cosigned."""
    latest: str | None = None
    """The last checkpoint with its cosignatures."""

    @property
    def sealed(self) -> int:
        return self.frontier.size

    def take(self, seal: Seal) -> None:
        payload = seal.payload
        if payload.first != self.sealed + 1:
            raise BrokenLog(f"the seal at seq {seal.seq} covers {payload.first}..{payload.last}, not from "
                            f"{self.sealed + 1}")
        new = split_leaves(payload.leaves)
        self.leaves.extend(new)
        self.frontier.extend(new)
        if self.frontier.root() != seal.checkpoint.root:
            raise BrokenLog(f"the seal at seq {seal.seq} does not give its own root")
        self.chain, self.seal_seq, self.latest = seal.checkpoint.chain, seal.seq, payload.checkpoint
        for signature in seal.note.signatures[1:]:
            self.witness_sizes[signature.name] = payload.last


async def load(js: JetStreamContext, stream: str) -> SealState:
    state = SealState()
    for seal in await every_seal(js, stream):
        state.take(seal)
    return state


@dataclass
class Sealer:
    js: JetStreamContext
    publisher: EventPublisher
    stream: str
    key: SigningKey
    origin: str
    cosigner: Cosigner
    max_range: int
    state: SealState = field(default_factory=SealState)

    async def start(self) -> None:
        self.state = await load(self.js, self.stream)
        log.info("sealer ready: sealed through seq %d (the last seal at seq %d), public key %s", self.state.sealed,
                 self.state.seal_seq, self.key.verifier.text())

    async def seal_once(self) -> int:
        """Seal what is new (at most `max_range` messages); returns how many were sealed (0: nothing new)."""
        end = await source.last_sequence(self.js, self.stream)
        state = self.state
        based_on = state.seal_seq  # the seal this one extends, as read now (not after another call's append)
        if end <= state.sealed or (end == state.seal_seq and state.seal_seq == state.sealed + 1):
            return 0  # nothing, or only the last seal itself
        first, last = state.sealed + 1, min(end, state.sealed + self.max_range)
        leaves: list[bytes] = []
        async for batch in source.read(self.js, self.stream, first, last):
            for message in batch:
                if message.seq != first + len(leaves):
                    raise BrokenLog(f"seq {first + len(leaves)} is missing from the log")
                leaves.append(message.leaf())
        if len(leaves) != last - first + 1:
            raise BrokenLog(f"the log ends at {first + len(leaves) - 1}, not {last}")
        frontier = state.frontier.copy()
        frontier.extend(leaves)
        chain = state.chain
        for leaf in leaves:
            chain = chain_step(chain, leaf)
        checkpoint = Checkpoint(self.origin, last, frontier.root(), chain, first, root_of(leaves))
        tree = Tree(state.leaves + leaves)
        note, missing = await self.cosigner.cosign(sign(checkpoint.body(), self.key), tree, state.witness_sizes)
        payload = AuditSealedPayload(origin=self.origin, first=first, last=last, checkpoint=note.text(),
                                     leaves=base64.b64encode(b"".join(leaves)).decode(),
                                     frontier=tuple(base64.b64encode(n).decode() for n in frontier.nodes),
                                     witnesses_missing=tuple(missing))
        event = AuditSealed.decided(Actor.service(PRODUCER), PRODUCER, payload)
        try:
            ack = await self.publisher.append_atomic([event], Expected(based_on, AuditSealed.subject))
        except AppendConflict:
            log.info("another sealer sealed first; reading the seals again")
            self.state = await load(self.js, self.stream)
            return 0
        state.take(Seal(ack.seq, payload, note, checkpoint))
        log.info("sealed %d..%d at seq %d (root %s, cosigned by %d of %d witnesses)", first, last, ack.seq,
                 checkpoint.root.hex()[:16], len(note.signatures) - 1, len(note.signatures) - 1 + len(missing))
        return len(leaves)
