"""Officers' commands relayed from the board's pages over NATS request-reply, so a person acts on
an incident at the address they read it at (the projection relays; only it may ask).

Request `desk.triage.command` `{"token", "incident_id", "action", "body", "idempotency_key"}`: the
person's own session token, checked here exactly as triage's HTTP API checks it; `action` one of
`commands.ACTIONS` or `urgency`. Reply `{"status": 202, "result": {...}}`, or `{"status": 400|401|
403|404|409|422|503, "detail": "..."}` as the HTTP API would answer."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, Field, ValidationError

from desk_shared.access.guard import PeopleGuard, Refusal
from desk_shared.access.people import Capability
from desk_shared.contracts import subjects
from desk_triage.commands import ACTIONS, CommandRefused, UrgencyAnswer, Workbench, answer_urgency, carry_out
from desk_triage.incidents import decide as d

log = logging.getLogger(__name__)
URGENCY = "urgency"


class CommandRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    incident_id: uuid.UUID
    action: str = Field(max_length=40)
    body: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(None, max_length=200)


class CommandDoor:
    def __init__(self, nc: Client, guard: PeopleGuard, bench: Callable[[], Workbench | None], desk: d.Desk) -> None:
        self._nc, self._guard, self._bench, self._desk = nc, guard, bench, desk
        self._subscription: Subscription | None = None
        self._working: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self._subscription = await self._nc.subscribe(subjects.TRIAGE_COMMAND, queue="triage", cb=self._received)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
        if self._working:
            await asyncio.wait(self._working)

    async def _received(self, msg: Msg) -> None:
        """Each command in its own task: one waiting on a conditional append holds up no other."""
        task = asyncio.create_task(self._answer(msg))
        self._working.add(task)
        task.add_done_callback(self._working.discard)

    async def _answer(self, msg: Msg) -> None:
        try:
            reply = await self.handle(msg.data)
        except Exception:  # never leave the page waiting for its time-out
            log.exception("relayed command failed")
            reply = {"status": 500, "detail": "the command failed inside triage; nothing was recorded"}
        if msg.reply:
            await msg.respond(json.dumps(reply).encode())

    async def handle(self, data: bytes) -> dict[str, Any]:
        try:
            request = CommandRequest.model_validate_json(data)
        except ValidationError as exc:
            return {"status": 400, "detail": f"not a command request: {exc.error_count()} problem(s)"}
        found = await self._guard.authenticate(request.token)
        if isinstance(found, Refusal):
            return {"status": 401, "detail": str(found)}
        officer = found.principal
        if not officer.may(Capability.DECIDE):
            return {"status": 403, "detail": f"{officer.login} ({', '.join(officer.roles)}) may not decide"}
        bench = self._bench()
        if bench is None:
            return {"status": 503, "detail": "triage is still reading the log; try again"}
        try:
            if request.action == URGENCY:
                answered = await answer_urgency(bench, self._desk, request.incident_id,
                                                UrgencyAnswer.model_validate(request.body), officer.actor,
                                                officer.sees)
                return {"status": 202, "result": answered.model_dump(mode="json")}
            action = ACTIONS.get(request.action)
            if action is None:
                return {"status": 404, "detail": f"no action {request.action!r}"}
            decided = await carry_out(bench, self._desk, request.incident_id,
                                      action.command(action.body.model_validate(request.body)), officer.actor,
                                      request.idempotency_key, officer.sees)
        except ValidationError as exc:
            return {"status": 422, "detail": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                       for e in exc.errors()[:5])}
        except CommandRefused as refused:
            return {"status": refused.status, "detail": refused.detail}
        return {"status": 202, "result": decided.model_dump(mode="json")}
