"""Alembic migrations go up, down and up again on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.auth.passwords import PasswordHasher
from server.storage import db, migrate
from server.storage.keyring import Keyring
from server.storage.models import Base, UtcDateTime
from tests.support.auth import PASSWORD, TEST_DATA_KEYS, bearer, login
from tests.support.process import run_server
from tests.support.sealed import CONTACT, HELPED, SYMPTOM, raw_database
from tests.support.servers import Servers

TABLES = {
    "users",
    "refresh_token_families",
    "refresh_tokens",
    "revoked_tokens",
    "api_keys",
    "captcha_uses",
    "conversations",
    "messages",
    "feedback",
    "audit_events",
    "login_throttle",
    "crypto_meta",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def _run(database_url: str, fn: object) -> object:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_up_down_up(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _run(database_url, _tables) == TABLES
    assert await _run(database_url, _diff) == []
    await asyncio.to_thread(migrate.downgrade, database_url)
    assert await _run(database_url, _tables) == set()
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _run(database_url, _tables) == TABLES


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_instances_starting_at_once_migrate_one_after_another(postgres_url: str) -> None:
    """Four `python -m server migrate` processes on one fresh PostgreSQL database at once (four instances
    starting together): the advisory lock lets one migrate while the others wait and then find the schema
    at head; none fails. (Processes, not threads: Alembic's `context` is one per process.)"""
    runs = [asyncio.to_thread(run_server, {"DATABASE_URL": postgres_url}, "migrate", timeout=240) for _ in range(4)]
    done = await asyncio.gather(*runs)
    assert [(d.returncode, d.stderr[-300:]) for d in done if d.returncode != 0] == []
    assert await _run(postgres_url, _tables) == TABLES
    assert await _run(postgres_url, _diff) == []


async def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    engine = db.create_engine(url)
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


async def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    assert (tmp_path / "nested" / "dir" / "x.db").exists()


EMAIL = "vorher.klartext@example.org"
BEFORE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def _plaintext_rows_at_0003(database_url: str) -> None:
    """A user with a conversation, two messages and feedback, as revision 0003 stored them: in plain text."""
    hasher = PasswordHasher(time_cost=1, memory_kib=8 * 1024, parallelism=1, workers=1)
    await hasher.start()
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()
    users = sa.table(
        *("users", *(sa.column(c) for c in ("id", "email", "password_hash", "roles"))),
        sa.column("failed_logins"),
        sa.column("lock_count"),
        sa.column("created_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
    )
    conversations = sa.table(
        "conversations",
        *(sa.column(c) for c in ("id", "owner_id", "user_id", "language", "state")),
        sa.column("context", sa.JSON()),
        *(sa.column(c, UtcDateTime()) for c in ("created_at", "updated_at", "expires_at")),
    )
    messages = sa.table(
        "messages",
        *(sa.column(c) for c in ("conversation_id", "seq", "sender", "kind", "text")),
        sa.column("steps", sa.JSON(none_as_null=True)),
        sa.column("created_at", UtcDateTime()),
    )
    feedback = sa.table(
        "feedback",
        *(sa.column(c) for c in ("conversation_id", "helped", "perspective", "exercise_fit", "score", "contact")),
        sa.column("contact_delete_after", UtcDateTime()),
        sa.column("created_at", UtcDateTime()),
    )
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                users.insert().values(
                    id="u" * 32,
                    email=EMAIL,
                    password_hash=password_hash,
                    roles="user",
                    failed_logins=0,
                    lock_count=0,
                    created_at=BEFORE,
                    updated_at=BEFORE,
                )
            )
            await connection.execute(
                conversations.insert().values(
                    id="c" * 43,
                    owner_id=f"user:{'u' * 32}",
                    user_id="u" * 32,
                    language="de",
                    state=0,
                    context={"behavior_title": "Leinenziehen", "symptom": SYMPTOM},
                    created_at=BEFORE,
                    updated_at=BEFORE,
                    expires_at=BEFORE + timedelta(minutes=30),
                )
            )
            await connection.execute(
                messages.insert(),
                [
                    {
                        "conversation_id": "c" * 43,
                        "seq": 0,
                        "sender": 3,
                        "kind": 3,
                        "text": SYMPTOM,
                        "steps": None,
                        "created_at": BEFORE,
                    },
                    {
                        "conversation_id": "c" * 43,
                        "seq": 1,
                        "sender": 1,
                        "kind": 4,
                        "text": "Übung",
                        "steps": ["Schritt eins am Kanal"],
                        "created_at": BEFORE,
                    },
                ],
            )
            await connection.execute(
                feedback.insert().values(
                    conversation_id="c" * 43,
                    helped=HELPED,
                    perspective=None,
                    exercise_fit="passt",
                    score=8,
                    contact=CONTACT,
                    contact_delete_after=BEFORE + timedelta(days=90),
                    created_at=BEFORE,
                )
            )
    finally:
        await engine.dispose()


async def test_0004_seals_existing_plaintext_rows(database_url: str, servers: Servers) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url, "0003_message_steps")
    await _plaintext_rows_at_0003(database_url)
    with pytest.raises(RuntimeError, match="needs the data keys"):
        await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.upgrade, database_url, keyring=Keyring(TEST_DATA_KEYS))

    raw = await asyncio.to_thread(raw_database, database_url)
    for plain in (EMAIL, SYMPTOM, "Lindenallee", HELPED, CONTACT, "Leinenziehen", "Schritt eins am Kanal"):
        assert plain.encode() not in raw, f"{plain!r} still in plain text"

    async with servers.serving(DATABASE_URL=database_url) as (_, channel):
        tokens = await login(channel, EMAIL)
        auth = auth_service_pb2_grpc.AuthServiceStub(channel)
        reply = await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=bearer(tokens.access_token))
        conversations = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        listed = await conversations.ListConversations(
            conv_pb.ListConversationsRequest(), metadata=bearer(tokens.access_token)
        )
        history = await conversations.GetConversation(
            conv_pb.GetConversationRequest(conversation_id="c" * 43), metadata=bearer(tokens.access_token)
        )
    data = json.loads(reply.json)
    assert data["profile"]["email"] == EMAIL
    [conversation] = data["conversations"]
    assert [m["text"] for m in conversation["messages"]] == [SYMPTOM, "Übung"]
    assert (conversation["feedback"][0]["helped"], conversation["feedback"][0]["contact"]) == (HELPED, CONTACT)
    assert listed.conversations[0].behavior_title == "Leinenziehen"
    assert list(history.messages[1].steps) == ["Schritt eins am Kanal"]

    # and back: downgrade opens them again
    await asyncio.to_thread(migrate.downgrade, database_url, "0003_message_steps", keyring=Keyring(TEST_DATA_KEYS))
    assert EMAIL.encode() in await asyncio.to_thread(raw_database, database_url)
