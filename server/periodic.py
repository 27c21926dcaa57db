"""A background job that runs every `interval` seconds until stopped (health probe, sweeper, retention)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.exc import SQLAlchemyError

from rpc.errors import DependencyUnavailable

log = structlog.get_logger(__name__)


class Periodic:
    """`start()` runs `job` every `interval` seconds as a task; `stop()` cancels it.

    A run that fails with a database error (or an unreachable database) is logged and tried again at the next interval.
    """

    def __init__(self, name: str, job: Callable[[], Awaitable[object]], *, interval: float) -> None:
        self._name = name
        self._job = job
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._job()
            except (SQLAlchemyError, DependencyUnavailable) as exc:
                log.warning("periodic job failed", job=self._name, error=type(exc).__name__)
