"""Alembic environment: online migrations over the async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from server.storage.db import create_engine
from server.storage.models import Base

MIGRATION_LOCK = 0x5775_6666  # the advisory lock key of WuffChat's migrations ("Wuff")


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # batch migrations copy a table, drop it and rename the copy: with foreign keys enforced, dropping a
        # parent table (users) would cascade-delete its children. Set before any transaction begins; this
        # connection ends with the migration (the engine is disposed right after).
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # N instances starting at once migrate one after another: the others wait here, then find the
            # schema at head. A transaction lock, released by the migration's commit (or rollback).
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


async def _run_async(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_async(context.config.attributes["database_url"]))
