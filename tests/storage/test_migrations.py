"""Alembic migrations go up, down and up again on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from server.storage import db, migrate
from server.storage.models import Base

TABLES = {
    "users",
    "refresh_token_families",
    "refresh_tokens",
    "revoked_tokens",
    "api_keys",
    "captcha_uses",
    "conversations",
    "messages",
    "feedback",
    "audit_events",
    "login_throttle",
    "crypto_meta",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def _run(database_url: str, fn: object) -> object:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_up_down_up(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _run(database_url, _tables) == TABLES
    assert await _run(database_url, _diff) == []
    await asyncio.to_thread(migrate.downgrade, database_url)
    assert await _run(database_url, _tables) == set()
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _run(database_url, _tables) == TABLES


async def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    engine = db.create_engine(url)
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


async def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
