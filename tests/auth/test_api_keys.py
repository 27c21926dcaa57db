"""API keys on a real port: configured and table keys, wrong, revoked and rotated keys, the dev key, prod rules."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.auth.api_keys import CACHE_SECONDS, ApiKeyChecker, ApiKeyStore
from server.storage import db, migrate
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.support.auth import ADMIN_KEY, SERVICE_KEY, api_key, bearer
from tests.support.process import run_server, start_server
from tests.support.prod import PROD_SECRET, prod_env


async def whoami(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> str:
    return (await channel.unary_unary("/test.WhoAmI/Unary")(b"", metadata=metadata)).decode()


async def whoami_code(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    try:
        await whoami(channel, metadata)
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def cli(database_url: str, *args: str) -> str:
    result = run_server({"DATABASE_URL": database_url}, "apikey", *args, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def test_unary_configured_keys_carry_their_role(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory()) as (_, channel):
        assert await whoami(channel, api_key(ADMIN_KEY)) == "apikey|env:test-admin|admin"
        assert await whoami(channel, api_key(SERVICE_KEY)) == "apikey|env:test-service|service"


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("x-api-key", ADMIN_KEY[:-1]),),
        (("x-api-key", ADMIN_KEY + "x"),),
        (("x-api-key", ""),),
        (("x-api-key", "k" * 5000),),
        (("x-api-key", ADMIN_KEY), ("x-api-key", SERVICE_KEY)),  # ambiguous
        (("x-api-key", ADMIN_KEY), ("authorization", "Bearer x")),  # ambiguous
        (("authorization", f"Bearer {ADMIN_KEY}"),),  # a key is no bearer token
    ],
)
async def test_unary_wrong_key_is_unauthenticated(
    serving: Serving, settings_factory: SettingsFactory, metadata: tuple[tuple[str, str], ...]
) -> None:
    async with serving(settings_factory()) as (_, channel):
        assert await whoami_code(channel, metadata) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.both_databases
async def test_unary_table_keys_rotate_and_revoke(serving: Serving, settings_factory: SettingsFactory) -> None:
    settings = settings_factory()
    async with serving(settings) as (_, channel):
        old = cli(settings.database.url, "create", "crawler", "--role", "service")
        assert await whoami(channel, api_key(old)) == "apikey|crawler|service"
        new = cli(settings.database.url, "create", "crawler-2026", "--role", "service")
        assert await whoami(channel, api_key(new)) == "apikey|crawler-2026|service"
        assert await whoami(channel, api_key(old)) == "apikey|crawler|service"  # both active: rotation
        listing = cli(settings.database.url, "list")
        assert old not in listing and new not in listing
        assert re.search(r"^crawler\twck_\S+\.\.\.\tservice\tactive", listing, re.M)
        cli(settings.database.url, "revoke", "crawler")
        await asyncio.sleep(CACHE_SECONDS)  # a running server trusts a valid key for at most this long
        assert await whoami_code(channel, api_key(old)) == grpc.StatusCode.UNAUTHENTICATED
        assert await whoami(channel, api_key(new)) == "apikey|crawler-2026|service"
        assert re.search(r"^crawler\t.*\trevoked\t", cli(settings.database.url, "list"), re.M)


async def test_stream_needs_credentials_too(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory()) as (_, channel):
        stream = channel.unary_stream("/test.WhoAmI/Stream")
        assert [r async for r in stream(b"", metadata=api_key())] == [b"0|apikey", b"1|apikey", b"2|apikey"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            [r async for r in stream(b"")]
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_dev_key_is_generated_once_and_printed(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/dev.db", "API_KEYS": ""}
    first = start_server(env)
    try:
        found = re.search(r"generated development API key .*: (wck_\S+)", "".join(first.lines))
        assert found is not None, "".join(first.lines)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel:
            stub = auth_service_pb2_grpc.AuthServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetProfile(pb.GetProfileRequest(), metadata=api_key(found.group(1)))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED  # authenticated, but not a user
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer("x"))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        first.close()
    second = start_server(env)
    second.close()
    assert "generated development API key" not in "".join(second.lines)
    assert found.group(1) not in "".join(second.lines)


def test_prod_refuses_to_start_without_api_keys(tmp_path: Path) -> None:
    """Bad configuration: exit 2 with one line naming API_KEYS, before any migration ran."""
    env = prod_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/p.db")
    result = run_server(env, timeout=30)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wuffchat: configuration error: API_KEYS "), result.stderr
    assert "Traceback" not in result.stderr
    database = tmp_path / "p.db"
    if database.exists():  # reachable is all it checked: no table was created
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "a" * 40}, "SECRET_KEY"),  # long but not random
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": PROD_SECRET, "API_KEYS": "svc:service:only-sixteen-chars"}, "API_KEYS"),
        ({"SECRET_KEY": PROD_SECRET, "ARGON2_TIME_COST": "1"}, "ARGON2_TIME_COST"),
    ],
)
def test_prod_refuses_weak_secrets(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    full = prod_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db", **env)
    result = run_server(full)
    assert result.returncode == 2
    assert variable in result.stderr
    assert "only-sixteen-chars" not in result.stderr


def test_cli_refuses_bad_or_taken_names(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    assert run_server({"DATABASE_URL": url}, "apikey", "create", "bad name", timeout=30).returncode == 2
    cli(url, "create", "taken")
    again = run_server({"DATABASE_URL": url}, "apikey", "create", "taken", timeout=30)
    assert again.returncode == 1 and "exists already" in again.stderr and again.stdout == ""
    missing = run_server({"DATABASE_URL": url}, "apikey", "revoke", "nobody", timeout=30)
    assert missing.returncode == 1


async def test_a_valid_table_key_is_trusted_for_a_second_then_looked_up_again(tmp_path: Path) -> None:
    """The checker keeps a valid table key for CACHE_SECONDS (no query per call); a revocation from
    another process is refused once that second has passed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    now = [100.0]
    try:
        key = await ApiKeyStore(engine).create("crawler", "service")
        checker = ApiKeyChecker(engine, [], monotonic=lambda: now[0])
        found = await checker.check(key)
        assert found is not None and found.id == "crawler"
        await ApiKeyStore(engine).revoke("crawler")
        now[0] += CACHE_SECONDS - 0.01
        assert await checker.check(key) == found  # still within the second: no lookup
        now[0] += 0.02
        assert await checker.check(key) is None
        assert await checker.check(key) is None  # a refused key is not kept
    finally:
        await engine.dispose()
