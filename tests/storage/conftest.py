"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import MetaData

from server.storage import db
from server.storage.transactions import Transactions

TransactionsFor = Callable[[MetaData], Awaitable[Transactions]]


@pytest.fixture
async def transactions_for(database_url: str) -> AsyncIterator[TransactionsFor]:
    """`Transactions` on the parametrized database (SQLite file, PostgreSQL) with `metadata`'s tables created;
    closed with its engine at the end of the test."""
    opened: list[Transactions] = []

    async def open_with(metadata: MetaData) -> Transactions:
        engine = db.create_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        opened.append(Transactions(engine))
        return opened[-1]

    yield open_with
    for running in opened:
        running.close()
        await running.engine.dispose()
