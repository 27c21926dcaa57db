"""Login benchmark: Argon2id cost per hash with the configured parameters, and logins per second.

    .venv/bin/python bench/login.py [--logins 80] [--concurrency 8]

Starts the real server in this process on a free port (SQLite in a temporary folder, the Argon2
parameters of `Settings`, i.e. production defaults unless ARGON2_* are set), logs in over gRPC and
prints a Markdown table. CAPTCHAs are fetched and solved before the clock starts: the proof of work
is the client's cost, not the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python" / "src")]

import grpc  # noqa: E402
import structlog  # noqa: E402
from wuffchat.auth.v1 import auth_service_pb2 as pb  # noqa: E402
from wuffchat.auth.v1 import auth_service_pb2_grpc  # noqa: E402
from wuffchat_client.captcha import solve_captcha  # noqa: E402

from server.app import start  # noqa: E402
from server.auth.passwords import PasswordHasher  # noqa: E402
from server.config import DEFAULT_RATE_LIMITS, Settings, load_settings  # noqa: E402

EMAIL = "bench@example.org"
PASSWORD = "Hundeleine im Regen 42"


async def hash_times(settings: Settings, rounds: int) -> tuple[list[float], list[float]]:
    hasher = PasswordHasher(
        time_cost=settings.auth.argon2_time_cost,
        memory_kib=settings.auth.argon2_memory_kib,
        parallelism=settings.auth.argon2_parallelism,
        workers=1,
    )
    hashes, verifies = [], []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            digest = await hasher.hash(PASSWORD)
            hashes.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert await hasher.verify(digest, PASSWORD)
            verifies.append(time.perf_counter() - start)
    finally:
        hasher.close()
    return hashes, verifies


async def solved(stub: auth_service_pb2_grpc.AuthServiceStub) -> pb.CaptchaSolution:
    c = await stub.GetCaptcha(pb.GetCaptchaRequest())
    number = solve_captcha(c.challenge, c.salt, c.max_number)
    return pb.CaptchaSolution(
        algorithm=c.algorithm, challenge=c.challenge, salt=c.salt, number=number, signature=c.signature
    )


async def logins_per_second(settings: Settings, logins: int, concurrency: int) -> tuple[float, list[float]]:
    running = await start(settings)
    latencies: list[float] = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = auth_service_pb2_grpc.AuthServiceStub(channel)
            await stub.Register(pb.RegisterRequest(email=EMAIL, password=PASSWORD, captcha=await solved(stub)))
            solutions = [await solved(stub) for _ in range(logins)]

            async def worker() -> None:
                while solutions:
                    request = pb.LoginRequest(email=EMAIL, password=PASSWORD, captcha=solutions.pop())
                    begin = time.perf_counter()
                    await stub.Login(request)
                    latencies.append(time.perf_counter() - begin)

            begin = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - begin
    finally:
        await running.stop(0)
    return logins / elapsed, latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=80)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hashes", type=int, default=10)
    args = parser.parse_args()

    # the server's log lines would drown the table
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            {
                **os.environ,
                "GRPC_ADDR": "127.0.0.1:0",
                "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
                "CAPTCHA_MAX_NUMBER": "1000",
                "API_KEYS": f"bench:service:{secrets.token_urlsafe(32)}",  # no dev key printed
                # one client address makes every login: limits would measure the limiter, not Argon2
                "RATE_LIMITS": ",".join(f"{name}=1000000/minute" for name, _ in DEFAULT_RATE_LIMITS),
            }
        )
        hashes, verifies = await hash_times(settings, args.hashes)
        rate, latencies = await logins_per_second(settings, args.logins, args.concurrency)
    quantiles = statistics.quantiles(latencies, n=20)
    auth = settings.auth
    print(f"Argon2id t={auth.argon2_time_cost}, m={auth.argon2_memory_kib // 1024} MiB, "
          f"p={auth.argon2_parallelism}; {auth.password_hash_workers} hashing worker(s); "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print()
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| Argon2id hash, median of {len(hashes)} | {ms(statistics.median(hashes))} |")
    print(f"| Argon2id verify, median of {len(verifies)} | {ms(statistics.median(verifies))} |")
    print(f"| logins/second ({args.logins} logins, {args.concurrency} concurrent) | {rate:.1f} |")
    print(f"| login latency p50 / p95 | {ms(statistics.median(latencies))} / {ms(quantiles[18])} |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
