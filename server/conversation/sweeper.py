"""Every few minutes (default 5), purge the flow state of conversations idle past their expiry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError

from .store import ConversationStore

log = structlog.get_logger(__name__)


class Sweeper:
    """`start()` runs the loop as a task; `stop()` cancels it. A failed sweep is logged and retried next time."""

    def __init__(self, store: ConversationStore, clock: Callable[[], datetime], *, interval: float) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="conversation-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sweep_once(self) -> int:
        purged = await self._store.sweep(self._clock())
        if purged:
            log.info("expired conversations purged", count=purged)
        return purged

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep_once()
            except SQLAlchemyError as exc:
                log.warning("sweep failed", error=type(exc).__name__)
