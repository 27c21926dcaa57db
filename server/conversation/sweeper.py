"""Every few minutes (default 5), purge the flow state of conversations idle past their expiry."""

from __future__ import annotations

import structlog

from server.clock import Clock
from server.periodic import Periodic

from .store import ConversationStore

log = structlog.get_logger(__name__)


class Sweeper:
    """`start()` sweeps every `interval` seconds (server/periodic.py); `stop()` ends that."""

    def __init__(self, store: ConversationStore, clock: Clock, *, interval: float) -> None:
        self._store = store
        self._clock = clock
        self._periodic = Periodic("conversation-sweeper", self.sweep_once, interval=interval)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sweep_once(self) -> int:
        purged = await self._store.sweep(self._clock())
        if purged:
            log.info("expired conversations purged", count=purged)
        return purged
