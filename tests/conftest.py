"""Shared fixtures: a real grpc.aio server on a free port, channels, PostgreSQL.

With `CI=true` a skipped test counts as a failure: CI must have every dependency.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from server.app import RunningServer, start
from server.config import Settings, load_settings
from tests.support.auth import FAST_AUTH
from tests.support.postgres import Postgres, running_postgres

SettingsFactory = Callable[..., Settings]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must have every dependency: {report.longrepr}"
    return report


@pytest.fixture
def settings_factory(tmp_path: Path) -> SettingsFactory:
    """Settings for a test server: free port, its own SQLite file, fast health probes, cheap Argon2,
    a small CAPTCHA and the API keys of tests/support/auth.py."""

    def make(**overrides: Any) -> Settings:
        base = load_settings({})
        defaults: dict[str, Any] = {
            "grpc_addr": "127.0.0.1:0",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
            "health_check_interval_seconds": 0.1,
            "db_startup_timeout_seconds": 5.0,
            "shutdown_grace_seconds": 2.0,
            **FAST_AUTH,
        }
        return replace(base, **{**defaults, **overrides})

    return make


@pytest.fixture
async def server(settings_factory: SettingsFactory) -> AsyncIterator[RunningServer]:
    """The real server on a free port of 127.0.0.1 (SQLite)."""
    running = await start(settings_factory())
    yield running
    await running.stop(0)


@pytest.fixture
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as chan:
        yield chan


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server (see tests/support/postgres.py)."""
    with running_postgres() as pg:
        if pg is None:
            pytest.skip("PostgreSQL is not installed and cannot be installed here")
        yield pg


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)
