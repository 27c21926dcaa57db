"""PostgreSQL pool settings for a fleet (DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_TIMEOUT_SECONDS,
DB_CONNECT_TIMEOUT_SECONDS, DB_STATEMENT_TIMEOUT_SECONDS): the engine the server builds uses them, and a
statement past its timeout is cancelled by PostgreSQL and surfaces as `DependencyUnavailable`."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rpc.errors import DependencyUnavailable
from server.app import _pool
from server.config import load_settings
from server.storage import db

pytestmark = pytest.mark.postgres


def _engine(url: str, **env: str) -> db.AsyncEngine:
    settings = load_settings({"APP_ENV": "test", "DATABASE_URL": url, **env})
    return db.create_engine(settings.database.url, _pool(settings))


async def test_the_pool_and_the_statement_timeout_come_from_the_settings(postgres_url: str) -> None:
    engine = _engine(postgres_url, DB_POOL_SIZE="3", DB_MAX_OVERFLOW="2", DB_STATEMENT_TIMEOUT_SECONDS="0.25")
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "250ms"
        with pytest.raises(DependencyUnavailable):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(2)"))
        async with engine.connect() as connection:  # the pool is fine afterwards
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_statement_timeout_of_zero_is_no_limit(postgres_url: str) -> None:
    engine = _engine(postgres_url, DB_STATEMENT_TIMEOUT_SECONDS="0")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "0"
    finally:
        await engine.dispose()


def test_defaults_limit_statements_to_30_seconds() -> None:
    settings = load_settings({"APP_ENV": "test"})
    pool = _pool(settings)
    assert (pool.size, pool.max_overflow, pool.statement_timeout_seconds) == (10, 10, 30.0)
    assert pool.connect_args()["server_settings"] == {"statement_timeout": "30000"}
