"""One transaction of synchronous SQLAlchemy Core code, run where it costs the least CPU.

A conversation turn reads one row and writes two statements. Through aiosqlite every statement is four
hops between the event loop and aiosqlite's thread (cursor, execute, fetch, close), and the commit and
the connection's reset one more each: about 1 ms of CPU per turn, against 0.4 ms when the whole
transaction is one hop (issue 14). So on a SQLite file `Transactions.run(work)` runs `work(connection)`
on a thread of its own, with a pysqlite engine on the same file (db.sqlite_twin: the same pragmas and
error translation, the same data keys); on PostgreSQL it runs on the async engine's connection
(`run_sync`: asyncpg stays on the event loop, no thread). The calling task's context goes along, so
database spans find their parent call (server/storage/observe.py observes the twin too).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage import db, sealing

T = TypeVar("T")


class Transactions:
    """Run `work(connection)` in one transaction of `engine`'s database; `close` when the engine closes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.twin: Engine | None = db.sqlite_twin(engine)
        self._thread: ThreadPoolExecutor | None = None
        if self.twin is not None:
            sealing.share(engine, self.twin)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-turns")

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work`'s result, committed; its exception, rolled back. A cancelled caller does not stop a
        transaction already running on the thread (it commits or rolls back as it would have)."""
        if self.twin is None or self._thread is None:
            async with self.engine.begin() as connection:
                return await connection.run_sync(work)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._thread, context.run, self._in_thread, work)

    def _in_thread(self, work: Callable[[Connection], T]) -> T:
        assert self.twin is not None
        with self.twin.begin() as connection:
            return work(connection)

    def close(self) -> None:
        """Wait for the running transaction, then close the twin's connections."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        if self.twin is not None:
            self.twin.dispose()
