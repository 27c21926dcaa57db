"""Retention on a real database (SQLite and PostgreSQL): what is past its time goes, everything else stays
exactly as it was; the audit chain stays verifiable; the CLI and the server's periodic job run it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import GENESIS, RETENTION_EVENT, AuditLog, row_hash, verify
from server.config import LoginSettings, RetentionSettings
from server.retention import Retention, RetentionPolicy
from server.storage import data_keys, db, migrate
from server.storage.keyring import Keyring
from server.storage.models import (
    AuditEvent,
    Base,
    CaptchaUse,
    Conversation,
    Feedback,
    LoginThrottle,
    Message,
    RefreshToken,
    RefreshTokenFamily,
    RevokedToken,
    User,
)
from tests.support.auth import TEST_DATA_KEYS
from tests.support.process import run_server
from tests.support.servers import Servers

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
POLICY = RetentionPolicy.from_settings(
    RetentionSettings(), LoginSettings()
)  # 180 / 90 / 365 days, throttle memory 24 h, window 15 min


def ago(delta: timedelta) -> datetime:
    return NOW - delta


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = db.create_engine(database_url)
    await data_keys.unlock(engine, Keyring(TEST_DATA_KEYS))
    yield engine
    await engine.dispose()


def _conversation(cid: str, updated: datetime, *, contact_at: datetime | None = None) -> list[Base]:
    rows: list[Base] = [
        Conversation(
            id=cid,
            owner_id="apikey:test",
            language="de",
            state=0,
            context={"slot": cid},
            created_at=updated - DAY,
            updated_at=updated,
            expires_at=updated + timedelta(minutes=30),
        ),
        Message(conversation_id=cid, seq=0, sender=1, kind=1, text=f"Hallo {cid}", created_at=updated),
    ]
    if contact_at is not None:
        rows.append(
            Feedback(
                conversation_id=cid,
                helped="ja",
                score=9,
                contact=f"{cid}@example.org",
                contact_delete_after=contact_at + POLICY.contacts,
                created_at=contact_at,
            )
        )
    return rows


def _audit_chain(times: list[datetime]) -> list[AuditEvent]:
    rows, prev = [], GENESIS
    for i, moment in enumerate(times):
        row = AuditEvent(
            created_at=moment, event="authz_fail", severity="warning", principal=f"user:{i}", details={}, prev_hash=prev
        )
        row.hash = prev = row_hash(row)
        rows.append(row)
    return rows


def _fixture_rows() -> list[Base]:
    """Rows on both sides of every limit; the names say which side."""
    user = User(id="u1", email="u1@example.org", password_hash="x", roles="user", created_at=ago(DAY), updated_at=NOW)
    rows: list[Base] = [user]
    rows += _conversation("old-conversation", ago(181 * DAY), contact_at=ago(181 * DAY))
    rows += _conversation("kept-conversation", ago(179 * DAY))
    rows += _conversation("kept-old-contact", ago(100 * DAY), contact_at=ago(91 * DAY))
    rows += _conversation("kept-fresh-contact", ago(89 * DAY), contact_at=ago(89 * DAY))
    rows += [
        RefreshTokenFamily(id="expired-family", user_id="u1", created_at=ago(31 * DAY), expires_at=ago(DAY)),
        RefreshTokenFamily(id="live-family", user_id="u1", created_at=ago(DAY), expires_at=NOW + DAY),
        RefreshTokenFamily(
            id="revoked-live-family", user_id="u1", created_at=ago(DAY), expires_at=NOW + DAY, revoked_at=ago(DAY)
        ),
        *(
            RefreshToken(id=f"t-{f}", family_id=f, token_hash=f"h-{f}", created_at=ago(DAY), expires_at=NOW)
            for f in ("expired-family", "live-family")
        ),
        RevokedToken(jti="expired-jti", expires_at=ago(timedelta(seconds=1))),
        RevokedToken(jti="live-jti", expires_at=NOW + timedelta(minutes=5)),
        CaptchaUse(challenge="expired-captcha", expires_at=ago(timedelta(seconds=1))),
        CaptchaUse(challenge="live-captcha", expires_at=NOW + timedelta(minutes=5)),
        LoginThrottle(key="ip:stale", failed_logins=0, locked_until=ago(2 * DAY), lock_count=3),
        LoginThrottle(key="ip:never-locked-stale", failed_logins=2, first_failed_at=ago(DAY), lock_count=0),
        LoginThrottle(key="ip:locked", failed_logins=0, locked_until=NOW + DAY, lock_count=1),
        LoginThrottle(key="ip:recent-lock", failed_logins=0, locked_until=ago(timedelta(hours=1)), lock_count=2),
        LoginThrottle(key="ip:failing", failed_logins=2, first_failed_at=ago(timedelta(minutes=1)), lock_count=0),
    ]
    rows += _audit_chain([ago(400 * DAY), ago(366 * DAY), ago(364 * DAY), ago(DAY)])
    return rows


async def _insert(engine: AsyncEngine, rows: list[Base]) -> None:
    async with db.session_factory(engine).begin() as session:
        for row in rows:  # one flush each: parents before children, audit ids in chain order
            session.add(row)
            await session.flush()


def _plain(row: Base) -> dict[str, Any]:
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns}
    return {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in values.items()}


async def _dump(engine: AsyncEngine) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row of every table, by primary key, with datetimes made comparable across drivers."""
    dump: dict[str, dict[Any, dict[str, Any]]] = {}
    async with db.session_factory(engine)() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            key = mapper.primary_key[0].key
            dump[model.__tablename__] = {getattr(r, key): _plain(r) for r in await session.scalars(select(model))}
    return dump


async def test_purge_deletes_exactly_what_is_past_its_time(engine: AsyncEngine) -> None:
    await _insert(engine, _fixture_rows())
    before = await _dump(engine)
    report = await Retention(engine, POLICY, AuditLog(engine), clock=lambda: NOW).run_once()
    after = await _dump(engine)

    assert report.counts() == {
        "conversations": 1,
        "contacts": 1,
        "refresh_families": 1,
        "revoked_tokens": 1,
        "captcha_uses": 1,
        "login_throttle": 2,
        "audit_events": 2,
    }
    # what should go is gone (messages, feedback and tokens with their parents)
    assert "old-conversation" not in after["conversations"]
    assert {m["conversation_id"] for m in after["messages"].values()} == {
        "kept-conversation",
        "kept-old-contact",
        "kept-fresh-contact",
    }
    assert set(after["refresh_tokens"]) == {"t-live-family"}
    # everything else is exactly as before: same rows, same values
    expected = {table: dict(rows) for table, rows in before.items()}
    old_feedback = next(k for k, f in before["feedback"].items() if f["conversation_id"] == "old-conversation")
    old_messages = [k for k, m in before["messages"].items() if m["conversation_id"] == "old-conversation"]
    for table, key in [
        ("conversations", "old-conversation"),
        ("feedback", old_feedback),
        *(("messages", k) for k in old_messages),
        ("refresh_token_families", "expired-family"),
        ("refresh_tokens", "t-expired-family"),
        ("revoked_tokens", "expired-jti"),
        ("captcha_uses", "expired-captcha"),
        ("login_throttle", "ip:stale"),
        ("login_throttle", "ip:never-locked-stale"),
    ]:
        del expected[table][key]
    cleared = next(k for k, f in before["feedback"].items() if f["conversation_id"] == "kept-old-contact")
    expected["feedback"][cleared] = {**expected["feedback"][cleared], "contact": None, "contact_delete_after": None}
    audit_after = after.pop("audit_events")
    expected_audit = expected.pop("audit_events")
    assert after == expected
    # audit: the two rows older than 365 days went, the others stayed, and the purge announced itself
    kept_ids = sorted(expected_audit)[2:]
    assert sorted(audit_after)[:2] == kept_ids
    assert all(audit_after[i] == expected_audit[i] for i in kept_ids)
    (announcement,) = [a for i, a in audit_after.items() if i not in kept_ids]
    assert announcement["event"] == RETENTION_EVENT
    assert announcement["details"]["conversations"] == 1 and announcement["details"]["audit_events"] == 2
    chain = await verify(engine)
    assert chain.intact and chain.pruned and chain.rows == 3

    again = await Retention(engine, POLICY, AuditLog(engine), clock=lambda: NOW).run_once()
    assert again.total == 0
    assert await _dump(engine) == {**after, "audit_events": audit_after}, "a second run changes nothing"


async def test_contact_retention_follows_a_lowered_setting(engine: AsyncEngine) -> None:
    """Contacts written under a 90-day deadline go after 30 days once RETENTION_CONTACT_DAYS=30."""
    await _insert(engine, _conversation("c", ago(DAY), contact_at=ago(31 * DAY)))
    policy = RetentionPolicy.from_settings(RetentionSettings(RETENTION_CONTACT_DAYS=30), LoginSettings())
    report = await Retention(engine, policy, AuditLog(engine), clock=lambda: NOW).run_once()
    async with db.session_factory(engine)() as session:
        feedback = await session.scalar(select(Feedback))
    assert report.contacts == 1
    assert feedback is not None and feedback.contact is None and feedback.score == 9


async def test_audit_keeps_its_newest_row_when_all_are_old(engine: AsyncEngine) -> None:
    await _insert(engine, _audit_chain([ago(500 * DAY), ago(400 * DAY), ago(380 * DAY)]))
    report = await Retention(engine, POLICY, AuditLog(engine), clock=lambda: NOW).run_once()
    async with db.session_factory(engine)() as session:
        rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert report.audit_events == 2
    assert [r.principal for r in rows] == ["user:2", None]  # the newest old row, then the announcement
    assert (await verify(engine)).intact


async def test_verify_flags_a_start_cut_by_hand(engine: AsyncEngine) -> None:
    """Pruning the start is only accepted when a retention event names the cut."""
    await _insert(engine, _audit_chain([ago(3 * DAY), ago(2 * DAY), ago(DAY)]))
    async with db.session_factory(engine).begin() as session:
        first = await session.scalar(select(AuditEvent.id).order_by(AuditEvent.id).limit(1))
        await session.execute(delete(AuditEvent).where(AuditEvent.id == first))
    report = await verify(engine)
    assert not report.intact
    assert report.first_broken_id == (first or 0) + 1


async def test_server_runs_retention_periodically(servers: Servers) -> None:
    async with servers.running(RETENTION_INTERVAL_SECONDS=0.05) as running:
        await _insert(running.engine, _conversation("stale", ago(200 * DAY)))
        async with asyncio.timeout(10):
            while True:
                async with db.session_factory(running.engine)() as session:
                    if await session.get(Conversation, "stale") is None:
                        break
                await asyncio.sleep(0.05)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_cli_retention_run_then_audit_verify(database_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    await _insert(engine, _fixture_rows())
    env = {"DATABASE_URL": database_url, "RETENTION_AUDIT_DAYS": "365"}
    purged = await asyncio.to_thread(run_server, env, "retention", "run", timeout=60)
    checked = await asyncio.to_thread(run_server, env, "audit", "verify", timeout=60)
    assert purged.returncode == 0, purged.stderr
    assert "conversations=1 contacts=1 refresh_families=1" in purged.stdout
    assert "audit_events=2" in purged.stdout
    assert checked.returncode == 0, checked.stderr
    assert "audit chain intact: 3 rows (it starts after rows removed by retention)" in checked.stdout
    async with db.session_factory(engine)() as session:
        assert await session.get(Conversation, "old-conversation") is None
        assert await session.get(Conversation, "kept-conversation") is not None
