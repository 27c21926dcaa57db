"""server/storage/compiled.py against real databases: a statement compiled once reads and writes what
SQLAlchemy's own execution would (types processed both ways: aware UTC datetimes, JSON), counts the rows
it changed, and a driver error takes the engine's error handling (DependencyUnavailable, the error count).
On SQLite it runs on the DBAPI cursor of a twin transaction, on PostgreSQL through `connection.execute`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import MultipleResultsFound

from rpc.errors import DependencyUnavailable
from rpc.metrics import Metrics
from server.storage import db
from server.storage.compiled import Compiled
from server.storage.models import UtcDateTime
from server.storage.observe import observe
from server.storage.transactions import Transactions
from tests.storage.conftest import TransactionsFor

_METADATA = MetaData()
_VISITS = Table(
    "compiled_visits",
    _METADATA,
    Column("id", String(20), primary_key=True),
    Column("seen_at", UtcDateTime()),
    Column("details", JSON),
    Column("version", Integer),
)
_INSERT = Compiled(insert(_VISITS), column_keys=("id", "seen_at", "details", "version"))
_SELECT = Compiled(select(_VISITS).where(_VISITS.c.id == bindparam("id")))
_BUMP = Compiled(
    update(_VISITS)
    .where(_VISITS.c.id == bindparam("row"), _VISITS.c.version == bindparam("read"))
    .values(seen_at=bindparam("now"), version=bindparam("read") + 1)
)
_BERLIN = datetime(2026, 12, 3, 16, 30, 1, 250, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
async def transactions(transactions_for: TransactionsFor) -> Transactions:
    return await transactions_for(_METADATA)


def _rows() -> list[dict[str, Any]]:
    return [
        {"id": "a", "seen_at": _BERLIN, "details": {"name": "Bruno", "ages": [1, 2]}, "version": 0},
        {"id": "b", "seen_at": _BERLIN + timedelta(days=1), "details": None, "version": 3},
    ]


async def test_reads_and_writes_what_sqlalchemy_would(transactions: Transactions) -> None:
    await transactions.run(lambda c: _INSERT.execute(c, _rows()))
    mine = await transactions.run(lambda c: _SELECT.one_or_none(c, {"id": "a"}))
    theirs = await transactions.run(lambda c: c.execute(_SELECT.statement, {"id": "a"}).one()._asdict())
    assert mine == theirs
    assert mine is not None and mine["seen_at"] == _BERLIN and mine["seen_at"].tzinfo == UTC
    assert mine["details"] == {"name": "Bruno", "ages": [1, 2]}
    assert await transactions.run(lambda c: _SELECT.one_or_none(c, {"id": "nobody"})) is None
    both = await transactions.run(lambda c: c.execute(select(_VISITS.c.id).order_by(_VISITS.c.id)).scalars().all())
    assert both == ["a", "b"]


async def test_one_or_none_refuses_two_rows(transactions: Transactions) -> None:
    await transactions.run(lambda c: _INSERT.execute(c, _rows()))
    every = Compiled(select(_VISITS.c.id))
    with pytest.raises(MultipleResultsFound):
        await transactions.run(lambda c: every.one_or_none(c, {}))


async def test_counts_the_rows_an_update_changed(transactions: Transactions) -> None:
    await transactions.run(lambda c: _INSERT.execute(c, _rows()))
    later = _BERLIN + timedelta(hours=2)
    assert await transactions.run(lambda c: _BUMP.rowcount(c, {"row": "b", "read": 3, "now": later})) == 1
    assert await transactions.run(lambda c: _BUMP.rowcount(c, {"row": "b", "read": 3, "now": later})) == 0  # stale
    found = await transactions.run(lambda c: _SELECT.one_or_none(c, {"id": "b"}))
    assert found is not None and found["version"] == 4 and found["seen_at"] == later  # the literal 1 was bound


async def test_a_driver_error_takes_the_engines_error_handling(tmp_path: Path) -> None:
    """The raw cursor's error goes through the engine's handle_error hooks as SQLAlchemy's execution would
    send it: SQLite reports a missing table as an OperationalError, which storage calls unavailable
    (server/storage/db.py), counted as a database error, the driver's error as its cause."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    running = Transactions(engine)
    metrics = Metrics()
    observe(engine, metrics, twin=running.twin)
    try:
        with pytest.raises(DependencyUnavailable) as caught:
            await running.run(lambda c: _SELECT.one_or_none(c, {"id": "a"}))
        assert "no such table: compiled_visits" in str(caught.value.__cause__)
        assert metrics.dependency_errors.labels("database")._value.get() == 1
    finally:
        running.close()
        await engine.dispose()
