"""One fleet for the package: three `python -m server` instances behind the real Envoy (scripts/fleet.py, the
code `make fleet` runs), sharing a fresh PostgreSQL database and the session's Redis.

Every test starts with all three instances routed to (`whole_fleet` restarts what an earlier test
killed); the package's teardown stops Envoy and every instance by process group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from scripts.fleet import Fleet
from scripts.render_envoy import Address
from tests.support.auth import FAST_AUTH, rate_limits
from tests.support.net import free_port
from tests.support.postgres import Postgres
from tests.support.redis import RedisServer

SIZE = 3
EXPORT_LIMIT = 6  # ExportMyData per principal and minute, the one limit the load never meets

# The load (tests/fleet/load.py) logs in and talks from 127.0.0.1 through Envoy: every per-IP budget is
# out of its way, and only the per-principal ExportMyData limit is low (test_shared_state.py).
FLEET_ENV = {
    "APP_ENV": "test",
    **FAST_AUTH,
    "RATE_LIMITS": rate_limits("100000/minute", ExportMyData=f"{EXPORT_LIMIT}/minute"),
    "AUTH_FAILURE_LIMIT": "100000/minute",
    "LOGIN_MAX_FAILURES_PER_IP": "10000",
    "REFRESH_GRACE_SECONDS": "0",  # a replayed refresh token is reuse at once
    "HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
    "SHUTDOWN_GRACE_SECONDS": "5",
    "DB_STARTUP_TIMEOUT_SECONDS": "10",
}


@pytest.fixture(scope="package")
def fleet(postgres: Postgres, redis_session: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    database_url = postgres.create_database()
    redis_session.flush()
    running = Fleet(
        database_url,
        redis_session.url,
        tmp_path_factory.mktemp("fleet"),
        size=SIZE,
        ports=[free_port() for _ in range(SIZE)],
        listen=Address("127.0.0.1", free_port()),
        admin=Address("127.0.0.1", free_port()),
        server_env=FLEET_ENV,
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        postgres.drop_database(database_url)


@pytest.fixture(autouse=True)
def whole_fleet(fleet: Fleet) -> Fleet:
    """All instances running and routed to at the start of each test."""
    for instance in fleet.instances:
        if not instance.running:
            fleet.restart(instance.index)
    fleet.wait_routing({i.port for i in fleet.instances})
    return fleet


@pytest.fixture
async def edge(fleet: Fleet) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to Envoy without client-side retries: what a call meets is what Envoy made of it."""
    async with grpc.aio.insecure_channel(fleet.url, options=[("grpc.enable_retries", 0)]) as channel:
        yield channel


def instance_log(fleet: Fleet, index: int) -> Path:
    return fleet.instances[index].log
