"""The audit store appends a hash chain on a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, text

from server.audit import GENESIS, AuditLog, row_hash, verify
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


async def test_verify_intact_then_detects_a_deleted_row(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    audit = AuditLog(engine)
    for i in range(5):
        await audit.record("authz_fail", principal=f"user:{i}")
    intact = await verify(engine, batch=2)  # batches: the chain continues across them
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE id = 3"))
    broken = await verify(engine, batch=2)
    await engine.dispose()
    assert intact.intact and intact.rows == 5
    assert broken.first_broken_id == 4 and broken.rows == 2
