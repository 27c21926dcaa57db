"""The audit store appends a hash chain on a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.audit import GENESIS, AuditLog, row_hash
from server.storage import db, migrate
from server.storage.models import AuditEvent


async def test_records_chain(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    audit = AuditLog(engine)
    await audit.record("user_created", principal="user:abc")
    await audit.record("authn_token_reuse", severity="critical", principal="user:abc", details={"family": "f1"})
    async with db.session_factory(engine)() as session:
        rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    await engine.dispose()
    assert [r.event for r in rows] == ["user_created", "authn_token_reuse"]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert all(row_hash(r) == r.hash for r in rows)
