"""Session fixtures for the edge: the real server in-process and the real Envoy in front of it.

The server trusts only Envoy's address (TRUSTED_PROXIES=127.0.0.1/32) for x-forwarded-for, as the
README tells operators to configure it, and carries the test echo service (tests/support/echo.py),
whose reply includes the client IP the server sees. The server is tests/support/servers.py's
`running_server` with settings of its own (not `settings_factory`'s: session-scoped, it outlives any
one test's directory), building its own knowledge stack. Envoy serves the built web client when
clients/web/dist exists (`make web`). conftest.py files import these fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from scripts.render_envoy import WEB_DIST, options_from_env
from server.app import RunningServer
from server.config import load_settings
from tests.support import echo
from tests.support.auth import FAST_AUTH
from tests.support.envoy import EnvoyProcess, start_envoy
from tests.support.servers import running_server


@asynccontextmanager
async def running_edge_server(workdir: Path, **env: str) -> AsyncIterator[RunningServer]:
    """A server of its own (own database, own rate-limit counters) as the edge fixtures run it; `env`
    adds or overrides variables (GRPC_TLS_* for a server behind Envoy's upstream TLS)."""
    settings = load_settings(
        {
            "APP_ENV": "test",
            "GRPC_ADDR": "127.0.0.1:0",
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'edge.db'}",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
            "DB_STARTUP_TIMEOUT_SECONDS": "5",
            **FAST_AUTH,
            **env,
        }
    )
    async with running_server(settings, extra_handlers=[echo.handler()]) as running:
        yield running


@asynccontextmanager
async def running_envoy(server: RunningServer, workdir: Path) -> AsyncIterator[EnvoyProcess]:
    """The dev Envoy in front of `server`, serving the built web client."""
    options = options_from_env("dev", {}, static_dir=WEB_DIST)
    proxy = await asyncio.to_thread(start_envoy, server.port, workdir, options=options)
    try:
        yield proxy
    finally:
        await asyncio.to_thread(proxy.close)


@pytest.fixture(scope="session")
async def edge_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    async with running_edge_server(tmp_path_factory.mktemp("edge-server")) as running:
        yield running


@pytest.fixture(scope="session")
async def envoy(edge_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EnvoyProcess]:
    async with running_envoy(edge_server, tmp_path_factory.mktemp("envoy")) as proxy:
        yield proxy


@pytest.fixture
async def own_envoy(tmp_path: Path) -> AsyncIterator[EnvoyProcess]:
    """A server and Envoy for one test, for tests that spend a per-IP budget (rate limits, failed logins)
    the session's other browser tests would then find empty: every browser call comes from 127.0.0.1."""
    (tmp_path / "server").mkdir()
    (tmp_path / "envoy").mkdir()
    async with running_edge_server(tmp_path / "server") as server, running_envoy(server, tmp_path / "envoy") as proxy:
        yield proxy


@pytest.fixture
async def web(envoy: EnvoyProcess) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP/1.1 client for Envoy's listener, as a browser's fetch would use."""
    async with httpx.AsyncClient(base_url=envoy.url, timeout=10) as client:
        yield client
