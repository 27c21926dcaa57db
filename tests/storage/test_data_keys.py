"""Data keys against the database: a wrong or missing key refuses to start, rotation and `rekey` round trip."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select, text
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.app import RunningServer, StartupError
from server.storage import data_keys, rekey
from server.storage.db import session_factory
from server.storage.keyring import DataKey
from server.storage.models import CryptoMeta, Message
from tests.support.auth import PASSWORD, bearer, data_keys_env, login
from tests.support.process import run_server
from tests.support.sealed import CONTACT, SYMPTOM, owner_with_history
from tests.support.servers import Servers

K1 = DataKey(1, hashlib.sha256(b"rotation test key 1").digest())
K2 = DataKey(2, hashlib.sha256(b"rotation test key 2").digest())
WRONG_1 = DataKey(1, hashlib.sha256(b"not the key 1").digest())
EMAIL = "rotation@example.org"


def _env(database_url: str, *keys: DataKey) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "DATA_KEYS": data_keys_env(*keys)}


def _checkpointed_bytes(database: Path) -> bytes:
    """The database file's bytes once every committed page is in it: with WAL, pages a stopped server
    committed may reach the file at the next checkpoint, which must not count as a change."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "another connection still holds the database"
    return database.read_bytes()


async def _server(servers: Servers, *keys: DataKey) -> RunningServer:
    return await servers.start(DATA_KEYS=data_keys_env(*keys))


async def _key_ids(running: RunningServer) -> dict[str, int]:
    """How many sealed values each key id seals, over the sealed columns of users and messages."""
    counts: dict[str, int] = {}
    async with session_factory(running.engine)() as session:
        for column in ("SELECT email FROM users", "SELECT text FROM messages"):
            for (value,) in (await session.execute(text(column))).all():
                kid = value.split(".")[1]
                counts[kid] = counts.get(kid, 0) + 1
    return counts


async def _everything_readable(running: RunningServer, email: str) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        tokens = await login(channel, email, PASSWORD)
        auth = auth_service_pb2_grpc.AuthServiceStub(channel)
        reply = await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=bearer(tokens.access_token))
    data: dict[str, Any] = json.loads(reply.json)
    assert data["profile"]["email"] == email
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert SYMPTOM in texts
    assert CONTACT in [f["contact"] for c in data["conversations"] for f in c["feedback"]]
    return data


@pytest.mark.both_databases
async def test_rotation_round_trip_with_rekey(servers: Servers) -> None:
    url = servers.settings().database.url
    first = await _server(servers, K1)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        owner = await owner_with_history(channel, EMAIL)
    await first.stop(0)

    # key 2 becomes active, key 1 still opens what it sealed
    second = await _server(servers, K2, K1)
    await _everything_readable(second, EMAIL)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as channel:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        tokens = await login(channel, EMAIL)
        await stub.StartConversation(pb.StartConversationRequest(language="en"), metadata=bearer(tokens.access_token))
    ids = await _key_ids(second)
    assert ids["1"] > 0 and ids["2"] == 2, "new writes use the active key, old rows keep theirs"
    await second.stop(0)

    with pytest.raises(StartupError, match="data key 1, which DATA_KEYS lacks"):
        await _server(servers, K2)

    # rekey: in batches, twice (the second run finds nothing left)
    done = await asyncio.to_thread(run_server, _env(url, K2, K1), "rekey", "--batch", "3", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rows re-sealed with data key 2; older keys may now leave DATA_KEYS" in done.stdout
    again = await asyncio.to_thread(run_server, _env(url, K2, K1), "rekey", timeout=120)
    assert again.returncode == 0 and "\nrekey: 0 rows re-sealed" in again.stdout, again.stdout + again.stderr

    third = await _server(servers, K2)
    try:
        data = await _everything_readable(third, EMAIL)
        assert owner.conversation_id in [c["id"] for c in data["conversations"]]
        assert set(await _key_ids(third)) == {"2"}
        async with session_factory(third.engine)() as session:
            names = set((await session.scalars(select(CryptoMeta.name))).all())
        assert names == {"canary.2", "index_key"}
    finally:
        await third.stop(0)


async def test_interrupted_rekey_keeps_the_old_key_required(servers: Servers) -> None:
    first = await _server(servers, K1)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        await owner_with_history(channel, EMAIL)
    await first.stop(0)
    second = await _server(servers, K2, K1)
    try:
        cipher = await data_keys.unlock(second.engine, data_keys.Keyring([K2, K1]))
        partial = await rekey.run(second.engine, cipher, batch=2, max_batches=2)  # as if stopped half-way
        assert (partial.rows, partial.done) == (2, False) and partial.left > 10  # the user and the conversation
        async with session_factory(second.engine)() as session:
            assert await session.scalar(select(func.count()).select_from(CryptoMeta)) == 3, "canary 1 stays"
            assert (await session.scalars(select(Message.text).limit(1))).first() is not None
        finished = await rekey.run(second.engine, cipher, batch=4)
        assert finished.done and finished.rows > 10
    finally:
        await second.stop(0)
    third = await _server(servers, K2)
    await _everything_readable(third, EMAIL)
    await third.stop(0)


async def test_wrong_key_refuses_to_start_and_changes_nothing(servers: Servers, tmp_path: Path) -> None:
    first = await _server(servers, K1)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        await owner_with_history(channel, EMAIL)
    await first.stop(0)
    database = tmp_path / "test.db"
    before = await asyncio.to_thread(_checkpointed_bytes, database)

    with pytest.raises(StartupError, match="DATA_KEYS key 1 is not the key this database's data was sealed with"):
        await _server(servers, WRONG_1)
    with pytest.raises(StartupError, match="data key 1, which DATA_KEYS lacks"):
        await _server(servers, K2)
    result = await asyncio.to_thread(
        run_server, {**_env(servers.settings().database.url, WRONG_1), "GRPC_ADDR": "127.0.0.1:0"}
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "wuffchat: cannot start: DATA_KEYS key 1 is not the key this database's data was sealed with (wrong key)"
    ]
    assert await asyncio.to_thread(_checkpointed_bytes, database) == before

    again = await _server(servers, K1)
    await _everything_readable(again, EMAIL)
    await again.stop(0)
