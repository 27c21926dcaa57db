"""Shared fixtures: the real server on a free port (tests/support/servers.py), channels, PostgreSQL, Redis.

With `CI=true` a skipped test counts as a failure: CI must have every dependency.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from server.app import RunningServer
from server.config import Settings, load_settings
from tests.support.auth import FAST_AUTH, env_text, rate_limits
from tests.support.clock import Clock
from tests.support.postgres import Postgres, running_postgres
from tests.support.redis import RedisServer, running_redis
from tests.support.servers import Servers, SharedKnowledge, address

SettingsFactory = Callable[..., Settings]
StartServer = Callable[..., Any]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "own_knowledge: changes the knowledge base (upserts, deletions): its servers build their own"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must have every dependency: {report.longrepr}"
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_databases` run twice: their settings_factory gives SQLite, then PostgreSQL."""
    if metafunc.definition.get_closest_marker("both_databases") and "database_backend" in metafunc.fixturenames:
        metafunc.parametrize(
            "database_backend",
            ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
            indirect=True,
        )


@pytest.fixture
def database_backend(request: pytest.FixtureRequest) -> str:
    """The database settings_factory uses: SQLite, unless a `both_databases` test asks for PostgreSQL."""
    return str(getattr(request, "param", "sqlite"))


def _test_env(database_url: str, overlay_dir: Path, cache_dir: Path) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "GRPC_ADDR": "127.0.0.1:0",
        "DATABASE_URL": database_url,
        "KNOWLEDGE_OVERLAY_DIR": str(overlay_dir),  # admin upserts never touch var/
        "CACHE_DIR": str(cache_dir),
        "HEALTH_CHECK_INTERVAL_SECONDS": "0.1",
        "DB_STARTUP_TIMEOUT_SECONDS": "5",
        "SHUTDOWN_GRACE_SECONDS": "2",
        "RATE_LIMITS": rate_limits("100000/minute"),
        "AUTH_FAILURE_LIMIT": "100000/minute",
        **FAST_AUTH,
    }


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's embedding cache (CACHE_DIR of every test server): embeddings are computed once."""
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="session")
async def shared_knowledge(
    embedding_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharedKnowledge]:
    """The knowledge stack of the test settings, built once per session (tests/support/servers.py)."""
    overlay = tmp_path_factory.mktemp("shared-overlay")
    settings = load_settings(_test_env("sqlite+aiosqlite:///unused.db", overlay, embedding_cache))
    shared = await SharedKnowledge.build(settings.knowledge)
    yield shared
    await shared.knowledge.aclose()


@pytest.fixture
def settings_factory(
    tmp_path: Path, database_backend: str, embedding_cache: Path, request: pytest.FixtureRequest
) -> SettingsFactory:
    """Settings for a test server, built by `load_settings` from environment variables like any server's
    (APP_ENV=test: the bounds of production, except the shorter lifetimes tests need): free port, its
    own SQLite file (or a fresh PostgreSQL database for `both_databases` tests), its own knowledge
    overlay (the session's embedding cache), fast health probes, cheap Argon2, a small CAPTCHA, the API
    keys of tests/support/auth.py, and rate limits and a failed-authentication budget high enough that
    only the tests about limits (which set their own) ever meet one. Overrides are variables too:
    `settings_factory(LOGIN_LOCKOUT_SECONDS=1)`; values become text (`env_text`)."""
    if database_backend == "postgresql":
        database_url = str(request.getfixturevalue("postgres_url"))
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"

    def make(**overrides: Any) -> Settings:
        env = _test_env(database_url, tmp_path / "overlay", embedding_cache)
        return load_settings({**env, **{name: env_text(value) for name, value in overrides.items()}})

    return make


@pytest.fixture
def clock() -> Clock:
    """The test servers' time: the real now, standing still until the test advances it."""
    return Clock()


@pytest.fixture
def test_knowledge(request: pytest.FixtureRequest) -> SharedKnowledge | None:
    """The session's knowledge stack, or None for a test marked `own_knowledge` (its servers build one)."""
    if request.node.get_closest_marker("own_knowledge") is not None:
        return None
    shared: SharedKnowledge = request.getfixturevalue("shared_knowledge")
    return shared


@pytest.fixture
async def servers(
    settings_factory: SettingsFactory, clock: Clock, test_knowledge: SharedKnowledge | None
) -> AsyncIterator[Servers]:
    """Starts real servers for the test (tests/support/servers.py): `servers.start(**overrides)` keeps
    one until the test ends, `async with servers.running(...)` / `servers.serving(...)` for a block.
    They run on `clock` and the session's knowledge stack, unless the test is marked `own_knowledge`."""
    factory = Servers(settings_factory, clock=clock, knowledge=test_knowledge)
    yield factory
    await factory.aclose()


@pytest.fixture
def start_server(servers: Servers) -> StartServer:
    """`servers.start`: `await start_server(**overrides)` returns a server running until the test ends."""
    return servers.start


@pytest.fixture
async def server(servers: Servers) -> RunningServer:
    """The real server on a free port of 127.0.0.1 with the test settings (SQLite)."""
    return await servers.start()


@pytest.fixture
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(address(server)) as chan:
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test once on a SQLite file and once on a fresh PostgreSQL database (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'param.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    """A real Redis server for the session (see tests/support/redis.py)."""
    with running_redis() as server:
        if server is None:
            pytest.skip("redis-server is not installed and cannot be installed here")
        yield server


@pytest.fixture
def redis_server(redis_session: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, running and empty at the start of the test."""
    redis_session.stop()  # a test may have stopped it; start fresh either way
    redis_session.start()
    yield redis_session
