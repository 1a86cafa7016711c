"""Logins relayed over NATS request-reply: the board's page takes the form and asks here, so a person
signs in at the address they use, while passwords and lockouts stay with access.

Request `desk.access.login` `{"login", "password"}` → `{"token", "expires_at", "lifetime_seconds"}` or
`{"refused": 401|429|400, "reason", "retry_after"}`; `desk.access.logout` `{"token"}` → `{"ended": bool}`.
Only the services allowed to ask (NATS permissions) can reach it."""

from __future__ import annotations

import json
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, Field, ValidationError

from desk_access.sign_in import Refused, SignIn
from desk_shared.contracts import subjects

log = logging.getLogger(__name__)


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LogoutRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class LoginDoor:
    def __init__(self, nc: Client, sign_in: SignIn) -> None:
        self._nc, self._sign_in = nc, sign_in
        self._subscriptions: list[Subscription] = []

    async def open(self) -> None:
        self._subscriptions = [await self._nc.subscribe(subjects.ACCESS_LOGIN, queue="access", cb=self._login),
                               await self._nc.subscribe(subjects.ACCESS_LOGOUT, queue="access", cb=self._logout)]

    async def close(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()

    async def _login(self, msg: Msg) -> None:
        try:
            wanted = LoginRequest.model_validate_json(msg.data)
        except ValidationError:
            await _reply(msg, {"refused": 400, "reason": "not a login request"})
            return
        found = await self._sign_in(wanted.login, wanted.password)
        if isinstance(found, Refused):
            await _reply(msg, {"refused": found.status, "reason": found.reason, "retry_after": found.retry_after})
            return
        await _reply(msg, {"token": found.token, "expires_at": found.expires_at.isoformat(),
                           "lifetime_seconds": found.lifetime_seconds})

    async def _logout(self, msg: Msg) -> None:
        try:
            wanted = LogoutRequest.model_validate_json(msg.data)
        except ValidationError:
            await _reply(msg, {"ended": False})
            return
        await _reply(msg, {"ended": await self._sign_in.sign_out(wanted.token)})


async def _reply(msg: Msg, body: dict[str, object]) -> None:
    if msg.reply:
        await msg.respond(json.dumps(body).encode())
