"""server/storage/transactions.py against real databases: on a SQLite file the work runs on a thread of
its own through a pysqlite twin (one hop per transaction), on PostgreSQL on the async engine's connection;
either way it commits what succeeds, rolls back what raises, and sees the caller's context."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, insert, select

from rpc.errors import DependencyUnavailable
from server.storage import db
from server.storage.transactions import Transactions
from tests.storage.conftest import TransactionsFor

_METADATA = MetaData()
_NOTES = Table("transaction_notes", _METADATA, Column("id", Integer, primary_key=True), Column("text", String))
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


class _RefusedError(Exception):
    pass


@pytest.fixture
async def transactions(transactions_for: TransactionsFor) -> Transactions:
    return await transactions_for(_METADATA)


def _write(text: str) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(insert(_NOTES).values(text=text))
        return f"{threading.current_thread().name} {_CALLER.get()}"

    return work


async def test_commits_and_sees_the_callers_context(transactions: Transactions) -> None:
    _CALLER.set("turn 7")
    where = await transactions.run(_write("kept"))
    assert where.endswith(" turn 7")
    on_sqlite = transactions.engine.dialect.name == "sqlite"
    assert (transactions.twin is not None) == on_sqlite
    assert where.startswith("sqlite-turns") == on_sqlite  # PostgreSQL: on the loop's thread
    async with transactions.engine.connect() as connection:  # the application's engine sees the commit
        assert (await connection.execute(select(_NOTES.c.text))).scalars().all() == ["kept"]


async def test_what_raises_is_rolled_back(transactions: Transactions) -> None:
    def fails(connection: Connection) -> None:
        _write("lost")(connection)
        raise _RefusedError

    with pytest.raises(_RefusedError):
        await transactions.run(fails)
    assert await transactions.run(lambda c: c.execute(select(_NOTES.c.text)).scalars().all()) == []


async def test_a_file_that_cannot_be_opened_is_dependency_unavailable(tmp_path: Path) -> None:
    """The twin translates driver errors as the application's engine does (server/storage/db.py)."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    running = Transactions(engine)
    try:
        (tmp_path / "notes.db").mkdir()  # a folder where the file should be: "unable to open database file"
        with pytest.raises(DependencyUnavailable):
            await running.run(lambda c: c.execute(select(_NOTES.c.text)).all())
    finally:
        running.close()
        await engine.dispose()


def test_an_in_memory_database_has_no_twin() -> None:
    """Another engine could not see an in-memory database: the work stays on the async engine."""
    assert db.sqlite_twin(db.create_engine("sqlite+aiosqlite://")) is None
