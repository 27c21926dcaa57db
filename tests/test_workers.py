"""`--workers N` as a real process tree: one port, calls spread over workers, SIGTERM drains all, deaths reported."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.app import StartupError
from server.workers import reserve_port
from tests.support.auth import bearer, signed_up
from tests.support.net import free_port
from tests.support.process import ServerProcess, run_server, start_server
from tests.support.redis import RedisServer

SECRET = "k3Y-for-tests-only_9fQ2xZ7wL1mN8vB4cR6tY0uI5oP"
# A channel of its own connection: by default gRPC shares subchannels (TCP connections) between channels with
# equal arguments, so a new channel could reuse the previous one's still-open connection and its worker.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def _env(tmp_path: Path, redis: RedisServer, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/w.db",
        "REDIS_URL": redis.url,
        "SECRET_KEY": SECRET,
        "KNOWLEDGE_OVERLAY_DIR": str(tmp_path / "overlay"),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
        "CAPTCHA_MAX_NUMBER": "1000",
        "SHUTDOWN_GRACE_SECONDS": "2",
        **extra,
    }


def _records(lines: list[str]) -> list[dict[str, object]]:
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


async def _finish(proc: ServerProcess) -> tuple[int, list[dict[str, object]]]:
    """Wait for the exit; the exit code and every JSON log line of the parent and its workers."""
    assert proc.process.stdout is not None
    rest = await asyncio.to_thread(proc.process.stdout.read)
    code = await asyncio.to_thread(proc.process.wait, 30)
    return code, _records([*proc.lines, *rest.splitlines()])


async def test_unary_two_workers_share_port_secret_and_limits_then_sigterm_exits_0(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = _env(tmp_path, redis_server, RATE_LIMITS="default=100000/minute,GetCaptcha=12/minute")
    proc = start_server(env, "--workers", "2", timeout=60, count=2)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
            tokens = await signed_up(channel, "workers@example.org")  # 2 of the 12 GetCaptcha calls
        # one connection per call: the kernel picks a worker per connection (a hash of its ports), not per
        # call; 40 connections all landing on one of two listening workers would take odds of 2**-39
        for _ in range(40):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}", options=OWN_CONNECTION) as channel:
                stub = auth_service_pb2_grpc.AuthServiceStub(channel)
                # the token signed by one worker is accepted by every worker (same SECRET_KEY, same DB)
                profile = await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(tokens.access_token))
                assert profile.email == "workers@example.org"
        outcomes = []
        for _ in range(12):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}", options=OWN_CONNECTION) as channel:
                try:
                    await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(pb.GetCaptchaRequest())
                    outcomes.append(grpc.StatusCode.OK)
                except grpc.aio.AioRpcError as err:
                    outcomes.append(err.code())
        # the limit is counted in Redis, so the workers together allow 12 per minute, not 12 each
        assert outcomes.count(grpc.StatusCode.OK) == 10
        assert outcomes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 2

        proc.process.send_signal(signal.SIGTERM)
        code, records = await _finish(proc)
    finally:
        proc.close()
    assert code == 0
    workers = {r["worker"] for r in records if r.get("event") == "rpc" and r.get("method", "").endswith("GetProfile")}  # type: ignore[union-attr]
    assert workers == {0, 1}, "both workers answered calls"
    assert sum(r.get("event") == "worker stopped" for r in records) == 2
    assert sum(r.get("event") == "stopped" for r in records) == 2, "each worker drained and stopped"


async def test_worker_death_is_reported_and_parent_exits_1(tmp_path: Path, redis_server: RedisServer) -> None:
    proc = start_server(_env(tmp_path, redis_server), "--workers", "2", timeout=60, count=2)
    try:
        started = [r for r in _records(proc.lines) if r.get("event") == "worker started"]
        victim = int(started[0]["pid"])  # type: ignore[call-overload]
        os.kill(victim, signal.SIGKILL)
        code, records = await _finish(proc)
    finally:
        proc.close()
    assert code == 1
    died = [r for r in records if r.get("event") == "worker exited unexpectedly"]
    assert [(r["pid"], r["exit_code"]) for r in died] == [(victim, -signal.SIGKILL)]
    assert sum(r.get("event") == "stopped" for r in records) == 1, "the other worker was stopped gracefully"


async def test_sigterm_while_workers_start_is_held_then_drained(tmp_path: Path, redis_server: RedisServer) -> None:
    """Workers take seconds to load the model; a SIGTERM in that time must stop them cleanly, not kill them."""
    proc = start_server(_env(tmp_path, redis_server), "--workers", "2", timeout=60, ready="workers started")
    try:
        proc.process.send_signal(signal.SIGTERM)
        code, records = await _finish(proc)
    finally:
        proc.close()
    assert code == 0
    assert sum(r.get("event") == "stopped" for r in records) == 2


def test_workers_without_redis_is_a_config_error(tmp_path: Path) -> None:
    result = run_server(
        {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db", "SECRET_KEY": SECRET}, "--workers", "2", timeout=30
    )
    assert result.returncode == 2
    assert "WORKERS > 1 needs REDIS_URL" in result.stderr


def test_reserve_port_resolves_port_0_and_shares_it() -> None:
    with reserve_port("127.0.0.1:0") as addr:
        host, _, port = addr.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        with reserve_port(addr) as again:  # SO_REUSEPORT on both: allowed, as for the workers
            assert again == addr


def test_reserve_port_refuses_a_port_held_without_reuseport() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"), reserve_port(f"127.0.0.1:{port}"):
            pass


async def test_unary_one_scrape_of_the_parent_shows_every_worker(tmp_path: Path, redis_server: RedisServer) -> None:
    """METRICS_ADDR with --workers: prometheus-client's multiprocess mode; the parent serves the sum."""
    metrics_port = free_port()
    env = _env(tmp_path, redis_server, METRICS_ADDR=f"127.0.0.1:{metrics_port}")
    proc = start_server(env, "--workers", "2", timeout=60, count=2)
    calls = 16
    try:
        for _ in range(calls):  # one connection per call: the kernel spreads connections over the workers
            async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}", options=OWN_CONNECTION) as channel:
                await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(pb.GetCaptchaRequest())

        def scrape() -> str:
            url = f"http://127.0.0.1:{metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as reply:
                return str(reply.read().decode())

        text = await asyncio.to_thread(scrape)
        proc.process.send_signal(signal.SIGTERM)
        code, records = await _finish(proc)
    finally:
        proc.close()
    assert code == 0
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = {"grpc_type": "unary", "grpc_service": "wuffchat.auth.v1.AuthService", "grpc_method": "GetCaptcha"}
    assert samples[("grpc_server_started_total", frozenset(labels.items()))] == calls
    assert samples[("grpc_server_handled_total", frozenset({**labels, "grpc_code": "OK"}.items()))] == calls
    workers = {r["worker"] for r in records if r.get("event") == "rpc" and r.get("method", "").endswith("GetCaptcha")}  # type: ignore[union-attr]
    assert workers == {0, 1}, "both workers answered calls, and the one scrape counted all of them"
