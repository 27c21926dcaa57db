"""`python -m server backup` / `restore` (issue 15): a round trip on SQLite and PostgreSQL after a whole
conversation on the real server, the audit chain intact and the data readable afterwards, and the
guards (no silent overwrite of a backup or of a database holding data, no restore of a foreign file)."""

from __future__ import annotations

import asyncio
import base64
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.db import create_engine, session_factory
from server.storage.models import AuditEvent, Message, User
from tests.support.auth import TEST_DATA_KEYS
from tests.support.process import run_server
from tests.support.sealed import owner_with_history
from tests.support.servers import Servers

pytestmark = pytest.mark.both_databases


def _cli_env(database_url: str) -> dict[str, str]:
    """The CLI's environment: the test server's database and data keys."""
    keys = ",".join(f"{k.id}:{base64.b64encode(k.key).decode()}" for k in TEST_DATA_KEYS)
    return {"DATABASE_URL": database_url, "DATA_KEYS": keys}


async def _counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with session_factory(engine)() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(User)) or 0),
            int(await session.scalar(select(func.count()).select_from(Message)) or 0),
            int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0),
        )


async def test_round_trip_keeps_every_row_and_the_audit_chain(servers: Servers, tmp_path: Path) -> None:
    settings = servers.settings()
    async with servers.serving(settings) as (running, channel):
        await owner_with_history(channel, "backup.owner@example.com")
        before = await _counts(running.engine)
    env = _cli_env(settings.database.url)
    target = tmp_path / "backups" / "wuffchat.backup"

    made = await asyncio.to_thread(run_server, env, "backup", str(target))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = await asyncio.to_thread(run_server, env, "backup", str(target))
    assert again.returncode == 1 and "--force" in again.stderr  # an existing backup is never replaced silently

    refused = await asyncio.to_thread(run_server, env, "restore", str(target))
    assert refused.returncode == 1 and "already holds tables" in refused.stderr

    engine = create_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(delete(Message))  # the loss a restore repairs
        assert (await _counts(engine))[1] == 0
        restored = await asyncio.to_thread(run_server, env, "restore", "--force", str(target))
        assert restored.returncode == 0, restored.stderr
        assert "audit chain intact" in restored.stdout
        assert await _counts(engine) == before
    finally:
        await engine.dispose()

    async with servers.serving(settings) as (_, channel):  # the server starts on the restored database and reads it
        await owner_with_history(channel, "after.restore@example.com")


async def test_a_file_that_is_no_backup_is_refused_and_changes_nothing(servers: Servers, tmp_path: Path) -> None:
    settings = servers.settings()
    async with servers.running(settings) as running:
        before = await _counts(running.engine)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n", encoding="utf-8")
    env = _cli_env(settings.database.url)
    refused = await asyncio.to_thread(run_server, env, "restore", "--force", str(foreign))
    assert refused.returncode == 1 and "is not a backup" in refused.stderr
    missing = await asyncio.to_thread(run_server, env, "restore", "--force", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    engine = create_engine(settings.database.url)
    try:
        assert await _counts(engine) == before
    finally:
        await engine.dispose()
