"""Login benchmark: Argon2id cost per hash, and logins against the real server with and without encryption.

    .venv/bin/python -m bench.login [--logins 80] [--concurrency 8] [--rounds 2]

The Argon2id figures hash in this process with the parameters of `Settings` (production defaults
unless ARGON2_* are set). The logins go to the real server as its own process tree and come from a
separate load process (bench/harness.py): one account, CAPTCHAs fetched and solved before the clock
starts (the proof of work is the client's cost, not the server's), then `--logins` logins with
`--concurrency` in flight. Rounds alternate between the server as shipped and one whose field sealer
is a pass-through (bench/serve.py --plain-fields): issue 18's cost of encryption at rest on Login.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python" / "src")]

from bench.harness import LoadGenerator, Meter, Server, Totals, machine_line  # noqa: E402
from server.auth.passwords import PasswordHasher  # noqa: E402
from server.config import Settings, load_settings  # noqa: E402

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


async def logins(port: int, meter: Meter, *, logins: int, concurrency: int) -> dict[str, Any]:
    """Register one account, solve `logins` CAPTCHAs (client work, before the clock), then log in."""
    import asyncio

    import grpc
    from wuffchat.auth.v1 import auth_service_pb2 as pb
    from wuffchat.auth.v1 import auth_service_pb2_grpc
    from wuffchat_client.captcha import solve_captcha

    async def solved(stub: auth_service_pb2_grpc.AuthServiceStub) -> pb.CaptchaSolution:
        c = await stub.GetCaptcha(pb.GetCaptchaRequest())
        number = solve_captcha(c.challenge, c.salt, c.max_number)
        return pb.CaptchaSolution(
            algorithm=c.algorithm, challenge=c.challenge, salt=c.salt, number=number, signature=c.signature
        )

    latencies: list[float] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        email = f"bench-{time.monotonic_ns()}@example.org"
        await stub.Register(pb.RegisterRequest(email=email, password=PASSWORD, captcha=await solved(stub)))
        solutions = [await solved(stub) for _ in range(logins)]

        async def worker() -> None:
            while solutions:
                request = pb.LoginRequest(email=email, password=PASSWORD, captcha=solutions.pop())
                begin = time.perf_counter()
                await stub.Login(request)
                latencies.append(time.perf_counter() - begin)

        meter.start()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        meter.stop()
    return {"latencies": latencies, "calls": len(latencies)}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=80)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hashes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    settings = load_settings({})
    print(machine_line())
    hashes, verifies = asyncio.run(hash_times(settings, args.hashes))
    env = {"CAPTCHA_MAX_NUMBER": "1000"}
    gen = LoadGenerator()
    rows: dict[str, Totals] = {}
    servers = {plain: Server(1, plain_fields=plain, env=env).start() for plain in (False, True)}
    try:
        for _ in range(args.rounds):
            for plain, server in servers.items():
                result = gen.run("bench.login:logins", server, logins=args.logins, concurrency=args.concurrency)
                rows.setdefault("without encryption" if plain else "with encryption", Totals()).add(result)
    finally:
        for server in servers.values():
            server.close()
        gen.close()
    print(f"Argon2id t={settings.auth.argon2_time_cost}, m={settings.auth.argon2_memory_kib // 1024} MiB, "
          f"p={settings.auth.argon2_parallelism}; {settings.auth.password_hash_workers} hashing worker(s)")  # fmt: skip
    print()
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| Argon2id hash, median of {len(hashes)} | {ms(statistics.median(hashes))} |")
    print(f"| Argon2id verify, median of {len(verifies)} | {ms(statistics.median(verifies))} |")
    print()
    print(f"{args.rounds} alternating rounds of {args.logins} logins, {args.concurrency} in flight, one server process")
    print()
    print("| Login | server CPU ms/call | logins/s | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t in rows.items():
        print(f"| {name} | {t.cpu_ms:.1f} | {t.rate:.1f} | {t.quantile(0.5):.1f} | {t.quantile(0.99):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
