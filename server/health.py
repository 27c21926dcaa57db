"""Keep `grpc.health.v1.Health` truthful: SERVING only while the database answers.

The overall status ("") and each service's status follow a `SELECT 1` probe every few seconds;
`shutdown()` turns everything NOT_SERVING for good (graceful shutdown).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from grpc_health.v1 import health_pb2

# the public alias `health.aio` is bound in a try block that type checkers cannot follow
from grpc_health.v1._async import HealthServicer
from sqlalchemy.ext.asyncio import AsyncEngine

from server.periodic import Periodic
from server.storage.db import ping

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthMonitor:
    """Owns the aio health servicer and the background database probe."""

    def __init__(self, engine: AsyncEngine, services: Sequence[str], *, interval: float) -> None:
        self.servicer = HealthServicer()
        self._engine = engine
        self._services = ("", *services)
        self._probe = Periodic("health-probe", self.check_now, interval=interval)
        self._serving: bool | None = None

    async def _set_all(self, serving: bool) -> None:
        if serving == self._serving:
            return
        self._serving = serving
        status = SERVING if serving else NOT_SERVING
        for service in self._services:
            await self.servicer.set(service, status)
        log.info("health changed", extra={"serving": serving})

    async def check_now(self) -> bool:
        """Probe the database once and publish the result."""
        reachable = await ping(self._engine)
        await self._set_all(reachable)
        return reachable

    async def start(self) -> None:
        await self.check_now()
        self._probe.start()

    async def shutdown(self) -> None:
        """NOT_SERVING for every service from now on; Watch streams see the change."""
        await self._probe.stop()
        await self.servicer.enter_graceful_shutdown()
