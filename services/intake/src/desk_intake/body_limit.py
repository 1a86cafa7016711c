"""A request body size limit that still lets simple clients read the 413."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk_intake.problems import too_large


class BodySizeLimit:
    """413 for a body over `limit` bytes, whether announced by Content-Length or streamed.

    The body is read here (it is small by definition) and handed on unchanged. An oversized
    body is read to its end (up to `drain` bytes) before the 413: a server that answers and
    closes while the client is still sending makes the client see a broken pipe, not the 413."""

    def __init__(self, app: ASGIApp, limit: int, drain: int) -> None:
        self.app = app
        self.limit = limit
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size <= self.limit:
                chunks.append(message.get("body", b""))
            elif not more or size > self.drain:
                await too_large(self.limit)(scope, receive, send)
                return
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
