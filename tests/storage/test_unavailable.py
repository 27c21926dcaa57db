"""The storage boundary: a database that cannot answer surfaces as `DependencyUnavailable`, nothing else does."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from rpc.errors import DependencyUnavailable
from server.storage import db
from tests.support.net import free_port


async def _first_query_error(url: str) -> DependencyUnavailable:
    """What the storage boundary raises for the first query on `url`."""
    engine = db.create_engine(url)
    try:
        with pytest.raises(DependencyUnavailable) as err:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    return err.value


async def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()  # a directory where the database file should be
    error = await _first_query_error(f"sqlite+aiosqlite:///{tmp_path / 'dir.db'}")
    assert error.dependency == "database"
    assert isinstance(error.__cause__, sqlite3.OperationalError)  # the driver's own error


async def test_postgres_refusing_connections_is_unavailable() -> None:
    error = await _first_query_error(f"postgresql+asyncpg://wuff:pw@127.0.0.1:{free_port()}/wuffchat")
    assert error.dependency == "database"
    assert isinstance(error.__cause__, OSError)
    assert "pw" not in str(error)


async def test_statement_errors_stay_sqlalchemy_errors(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert await db.ping(engine)
    finally:
        await engine.dispose()


async def test_a_cancelled_query_stays_cancelled(tmp_path: Path) -> None:
    # SQLAlchemy treats a cancellation as a "disconnect": it must not turn into DependencyUnavailable,
    # or a stopped background job (health probe, sweeper) would log it and carry on forever
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}")
    slow = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT sum(i) FROM n"
    )

    async def query() -> None:
        async with engine.connect() as connection:
            await connection.execute(slow)

    task = asyncio.create_task(query())
    try:
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await engine.dispose()
