"""Fixtures for interceptor tests: a real audit store on a migrated SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import AuditLog
from server.storage import db, migrate
from server.storage.models import AuditEvent


@pytest.fixture
async def audit_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    yield engine
    await engine.dispose()


@pytest.fixture
def audit_log(audit_engine: AsyncEngine) -> AuditLog:
    return AuditLog(audit_engine)


async def audit_events(engine: AsyncEngine) -> list[AuditEvent]:
    async with db.session_factory(engine)() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
