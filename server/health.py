"""Keep `grpc.health.v1.Health` truthful: each service is SERVING only while what it needs answers.

Every few seconds one probe per dependency runs: the database (`SELECT 1`) always; Redis and Weaviate
when they are configured (`extra` probes). A probe names the services it gates:
- database: every service and the overall status (""): nothing works without it;
- Weaviate: KnowledgeService and ConversationService (their answers come from retrieval); AuthService
  and the overall status stay SERVING, so an orchestrator does not restart the server for it;
- Redis: none. Rate limits fall back to counting in memory, so Redis down is SERVING; it shows in
  `wuffchat_dependency_up{dependency="redis"}` and in a log line on every change.
`shutdown()` turns everything NOT_SERVING for good (graceful shutdown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from rpc.metrics import Metrics
from server.periodic import Periodic
from server.storage.db import ping

log = structlog.get_logger(__name__)

# grpcio-health-checking's public asyncio servicer; its stubs describe only the synchronous one
HealthServicer: Any = grpc_health.aio.HealthServicer  # type: ignore[attr-defined]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
EVERY_SERVICE = ("*",)  # `gates` of a dependency every service (and the overall status) needs


@dataclass(frozen=True)
class Probe:
    """One dependency: `check()` says whether it answers (never raises); `gates` are the services
    (full names) that are NOT_SERVING while it does not, EVERY_SERVICE for all and the overall status."""

    name: str
    check: Callable[[], Awaitable[bool]]
    gates: tuple[str, ...] = ()


class HealthMonitor:
    """Owns the aio health servicer and the background probes; see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        services: Sequence[str],
        *,
        interval: float,
        extra: Sequence[Probe] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.servicer = HealthServicer()
        self._services = ("", *services)
        self._probes = (Probe("database", lambda: ping(engine), EVERY_SERVICE), *extra)
        self._probe = Periodic("health-probe", self.check_now, interval=interval)
        self._up: dict[str, bool] = {}
        self._status: dict[str, bool] = {}
        self._metrics = metrics

    def _serving(self, up: dict[str, bool]) -> dict[str, bool]:
        status = dict.fromkeys(self._services, True)
        for probe in self._probes:
            if up[probe.name]:
                continue
            for service in self._services if probe.gates == EVERY_SERVICE else probe.gates:
                status[service] = False
        return status

    async def check_now(self) -> bool:
        """Probe every dependency once and publish the result; True when the database answered."""
        results = await asyncio.gather(*(probe.check() for probe in self._probes))
        up = {probe.name: bool(ok) for probe, ok in zip(self._probes, results, strict=True)}
        for name, ok in up.items():
            if self._up.get(name) != ok:
                (log.info if ok else log.error)("dependency changed", dependency=name, up=ok)
            if self._metrics is not None:
                self._metrics.dependency_up.labels(name).set(1 if ok else 0)
        self._up = up
        for service, serving in self._serving(up).items():
            if self._status.get(service) == serving:
                continue
            self._status[service] = serving
            await self.servicer.set(service, SERVING if serving else NOT_SERVING)
            if self._metrics is not None:
                self._metrics.health_serving.labels(service).set(1 if serving else 0)
            log.info("health changed", service=service or "(server)", serving=serving)
        return up["database"]

    async def start(self) -> None:
        await self.check_now()
        self._probe.start()

    async def shutdown(self) -> None:
        """NOT_SERVING for every service from now on; Watch streams see the change."""
        await self._probe.stop()
        await self.servicer.enter_graceful_shutdown()
        if self._metrics is not None:
            for service in self._services:
                self._metrics.health_serving.labels(service).set(0)
