"""Throughput of the same trivial handler served bare and through the full interceptor chain.

One run starts a server process with two grpc.aio servers on 127.0.0.1: "bare" (no interceptors)
and "chain" (`build_chain` exactly as app.py builds it: memory rate limiter, audit log on a
temporary SQLite file, JSON log lines rendered and written to /dev/null). Both serve the same
trivial handler under `/wuffchat.auth.v1.AuthService/GetCaptcha` (a public method, so every
interceptor that applies to a public call runs: context, audit, errors, rate limit, validation).
The client (this process) keeps 64 unary calls in flight for a bounded time against each in turn
and prints RPS, p50, p99, the server's CPU time per call, and the ratio chain/bare.

    .venv/bin/python bench/chain.py [--seconds 8] [--concurrency 64] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHOD = "/wuffchat.auth.v1.AuthService/GetCaptcha"


async def _serve(workdir: Path) -> None:
    from wuffchat.auth.v1 import auth_service_pb2

    from interceptors.chain import ChainDependencies, build_chain
    from interceptors.ratelimit_backend import Limiter
    from server.audit import AuditLog
    from server.config import load_settings
    from server.log import configure_logging
    from server.storage import db, migrate

    configure_logging("INFO")  # stdout is /dev/null: lines are rendered and written, not kept
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    # a window of one second keeps the moving-window log as short as a production limit's
    settings = replace(load_settings({"RATE_LIMITS": "GetCaptcha=1000000/second"}), database_url=url)
    limiter = Limiter()
    chain = build_chain(ChainDependencies(settings=settings, audit=AuditLog(engine), limiter=limiter))

    async def trivial(request: Any, context: Any) -> Any:
        return auth_service_pb2.GetCaptchaResponse(algorithm="SHA-256")

    def handler() -> grpc.GenericRpcHandler[Any, Any]:
        return grpc.method_handlers_generic_handler(
            "wuffchat.auth.v1.AuthService",
            {
                "GetCaptcha": grpc.unary_unary_rpc_method_handler(
                    trivial,
                    request_deserializer=auth_service_pb2.GetCaptchaRequest.FromString,
                    response_serializer=auth_service_pb2.GetCaptchaResponse.SerializeToString,
                )
            },
        )

    servers, ports = [], {}
    for name, interceptors in (("bare", []), ("chain", chain)):
        server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers((handler(),))
        ports[name] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
    print(json.dumps(ports), file=sys.stderr, flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the client closes stdin when done
    for server in servers:
        await server.stop(0)
    await limiter.aclose()
    await engine.dispose()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(port: int, seconds: float, concurrency: int, pid: int) -> tuple[list[float], float, float]:
    """Keep `concurrency` calls in flight for `seconds`; latencies, elapsed wall time, server CPU time."""
    from wuffchat.auth.v1 import auth_service_pb2

    request = auth_service_pb2.GetCaptchaRequest()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            METHOD,
            request_serializer=auth_service_pb2.GetCaptchaRequest.SerializeToString,
            response_deserializer=auth_service_pb2.GetCaptchaResponse.FromString,
        )
        for _ in range(200):  # warm-up: connection, caches
            await call(request)
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await call(request)
                latencies.append(time.perf_counter() - started)

        cpu_before, started = _cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started, _cpu_seconds(pid) - cpu_before


def _summary(latencies: list[float], elapsed: float, cpu: float) -> dict[str, float]:
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "server_cpu_us": cpu / len(latencies) * 1e6,
    }


def _spawn(workdir: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--serve", workdir],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


async def _client(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="wuffchat-bench-") as workdir:
        server = _spawn(workdir)
        assert server.stdin is not None and server.stderr is not None
        try:
            ports = json.loads(await asyncio.to_thread(server.stderr.readline))
            # alternate short rounds so drift (warm-up, CPU clock, neighbours) hits both alike
            totals: dict[str, tuple[list[float], float, float]] = {name: ([], 0.0, 0.0) for name in ports}
            for _ in range(args.rounds):
                for name, port in ports.items():
                    lat, elapsed, cpu = await _load(port, args.seconds / args.rounds, args.concurrency, server.pid)
                    all_lat, all_elapsed, all_cpu = totals[name]
                    totals[name] = (all_lat + lat, all_elapsed + elapsed, all_cpu + cpu)
            results = {name: _summary(*total) for name, total in totals.items()}
        finally:
            server.stdin.close()
            server.wait(30)
            server.stderr.close()
    print(
        f"{args.concurrency} in-flight unary calls, {args.seconds:g} s per server in {args.rounds} alternating rounds"
    )
    print("| server | RPS | p50 ms | p99 ms | server CPU us/call |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['server_cpu_us']:.0f} |")
    ratio = results["chain"]["rps"] / results["bare"]["rps"]
    print(f"chain/bare throughput: {ratio:.1%} (target >= 80%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--serve", metavar="WORKDIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(Path(args.serve)))
    else:
        asyncio.run(_client(args))


if __name__ == "__main__":
    main()
