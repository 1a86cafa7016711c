"""A database connection kept open across awaits: its transaction holds a lock (the swap) or a
snapshot (the check) while the event loop replays the log into the fresh tables.

Every use of the connection runs on one worker thread of its own, in order: an await cancelled
halfway never lets a second thread use the connection while the first still does, and closing it
(which rolls back whatever was not committed) waits for the call before it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")


class HeldConnection:
    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._conn: Connection | None = None

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """`work(connection, *args)` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, self._run, work, args)

    def _run(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._conn is None:
            self._conn = self._engine.connect()
        return work(self._conn, *args)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def __aenter__(self) -> HeldConnection:
        return self

    async def __aexit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                        _tb: TracebackType | None) -> None:
        closing = self._worker.submit(self._close)  # queued behind a call still running
        self._worker.shutdown(wait=False)
        await asyncio.wrap_future(closing)
