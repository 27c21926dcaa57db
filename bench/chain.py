"""Throughput of the same trivial handler served bare and through the full interceptor chain.

One run starts a server process with two grpc.aio servers on 127.0.0.1: "bare" (no interceptors)
and "chain" (`build_chain`'s interceptors served exactly as app.py does it: memory rate limiter, audit log on a
temporary SQLite file, JSON log lines rendered and written to /dev/null). Both serve the same
trivial handler under two methods:

- "public": `/wuffchat.auth.v1.AuthService/GetCaptcha`, the issue's setup: every step that applies
  to a public call runs (context, audit, errors, rate limit, validation; auth and authz skip).
- "apikey": `/wuffchat.knowledge.v1.KnowledgeService/SearchBehaviors` with an `x-api-key` from
  API_KEYS, so authentication (and authorization) run too; the request carries a query to validate.

A third server, "inline", answers the public method with the per-call work the issue asks of the
chain written straight into the handler, with no interceptor at all: client IP from the peer, a
request id, one count in the same moving-window limiter, the four trailers (x-request-id and the
three x-ratelimit-*), one JSON line through the same logger. It is the floor under the chain: what
that work costs however it is arranged; chain vs inline is what the interceptor structure costs.

The client (this process) keeps 64 unary calls in flight for a bounded time against each server and
method in turn and prints RPS, p50, p99, the server's CPU time per call, and the ratio to bare.

    .venv/bin/python bench/chain.py [--seconds 16] [--concurrency 64] [--rounds 8] [--cases public apikey]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

API_KEY = "wck_bench_0123456789abcdef0123456789"


@dataclass(frozen=True)
class Case:
    """One method the trivial handler is served under, and how the client calls it."""

    name: str
    method: str
    metadata: tuple[tuple[str, str], ...]


CASES = (
    Case("public", "/wuffchat.auth.v1.AuthService/GetCaptcha", ()),
    Case("apikey", "/wuffchat.knowledge.v1.KnowledgeService/SearchBehaviors", (("x-api-key", API_KEY),)),
)


def _messages(case: Case) -> tuple[Any, Any, Any]:
    """(request class, response class, a request) of a case's method."""
    from wuffchat.auth.v1 import auth_service_pb2
    from wuffchat.knowledge.v1 import knowledge_service_pb2

    if case.name == "public":
        return (
            auth_service_pb2.GetCaptchaRequest,
            auth_service_pb2.GetCaptchaResponse,
            auth_service_pb2.GetCaptchaRequest(),
        )
    return (
        knowledge_service_pb2.SearchBehaviorsRequest,
        knowledge_service_pb2.SearchBehaviorsResponse,
        knowledge_service_pb2.SearchBehaviorsRequest(query="Mein Hund bellt, wenn es klingelt.", limit=5),
    )


def _handlers() -> list[grpc.GenericRpcHandler[Any, Any]]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for case in CASES:
        request_type, response_type, _ = _messages(case)
        response = response_type()

        async def trivial(request: Any, context: Any, response: Any = response) -> Any:
            return response

        service, method = case.method.strip("/").split("/")
        by_service.setdefault(service, {})[method] = grpc.unary_unary_rpc_method_handler(
            trivial,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )
    return [grpc.method_handlers_generic_handler(service, methods) for service, methods in by_service.items()]


def _inline_handlers(limiter: Any) -> list[grpc.GenericRpcHandler[Any, Any]]:
    """The public method's trivial handler doing the chain's required per-call work itself (see the docstring)."""
    import limits
    import structlog
    from wuffchat.auth.v1 import auth_service_pb2

    from interceptors.context import new_request_id, peer_ip

    method = CASES[0].method
    item = limits.parse("1000000/second")
    prefix = item.key_for(method)
    response = auth_service_pb2.GetCaptchaResponse()
    rpc_log = structlog.get_logger("wuffchat.rpc")

    async def inline(request: Any, context: Any) -> Any:
        started = time.perf_counter()
        ip = peer_ip(context.peer())
        user_agent = dict(context.invocation_metadata() or ()).get("user-agent", "")
        request_id = new_request_id()
        verdict = await limiter.hit(item, f"{prefix}/ip:{ip}")
        context.set_trailing_metadata(
            (
                ("x-request-id", request_id),
                ("x-ratelimit-limit", str(verdict.limit)),
                ("x-ratelimit-remaining", str(verdict.remaining)),
                ("x-ratelimit-reset", str(math.ceil(verdict.reset_after))),
            )
        )
        rpc_log.info(
            "rpc",
            request_id=request_id,
            method=method,
            principal=None,
            client_ip=ip,
            status="OK",
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            user_agent=user_agent,
        )
        return response

    service, name = method.strip("/").split("/")
    handler = grpc.unary_unary_rpc_method_handler(
        inline,
        request_deserializer=auth_service_pb2.GetCaptchaRequest.FromString,
        response_serializer=auth_service_pb2.GetCaptchaResponse.SerializeToString,
    )
    return [grpc.method_handlers_generic_handler(service, {name: handler})]


async def _serve(workdir: Path) -> None:
    from interceptors.chain import ChainDependencies, ChainOptions, build_chain
    from interceptors.ratelimit_backend import Limiter
    from server.audit import AuditLog
    from server.auth.access import AccessTokenVerifier
    from server.auth.api_keys import ApiKeyChecker
    from server.auth.tokens import JwtCodec
    from server.config import load_settings
    from server.log import configure_logging
    from server.storage import db, migrate

    configure_logging("INFO")  # stdout is /dev/null: lines are rendered and written, not kept
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = db.create_engine(url)
    # a window of one second keeps the moving-window log as short as a production limit's
    env = {
        "RATE_LIMITS": "GetCaptcha=1000000/second,default=1000000/second",
        "API_KEYS": f"bench:service:{API_KEY}",
        "DATABASE_URL": url,
    }
    settings = load_settings(env)
    limiter = Limiter()
    deps = ChainDependencies(
        options=ChainOptions(
            rate_limits=settings.limits.rate_limits, auth_failure_limit=settings.limits.auth_failure_limit
        ),
        audit=AuditLog(engine),
        limiter=limiter,
        token_verifier=AccessTokenVerifier(JwtCodec.from_settings(settings.auth.tokens, settings.secrets), engine),
        api_key_checker=ApiKeyChecker(engine, settings.auth.api_keys),
    )

    servers, ports = [], {}
    inline_limiter = Limiter()
    for name, interceptors, handlers in (
        ("bare", [], _handlers()),
        ("chain", build_chain(deps), _handlers()),
        ("inline", [], _inline_handlers(inline_limiter)),
    ):
        server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers(tuple(handlers))
        ports[name] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
    print(json.dumps(ports), file=sys.stderr, flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the client closes stdin when done
    for server in servers:
        await server.stop(0)
    await limiter.aclose()
    await inline_limiter.aclose()
    await engine.dispose()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(port: int, case: Case, seconds: float, concurrency: int, pid: int) -> tuple[list[float], float, float]:
    """Keep `concurrency` calls in flight for `seconds`; latencies, elapsed wall time, server CPU time."""
    request_type, response_type, request = _messages(case)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            case.method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        for _ in range(200):  # warm-up: connection, caches
            await call(request, metadata=case.metadata)
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await call(request, metadata=case.metadata)
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
    cases = [case for case in CASES if case.name in args.cases]
    with tempfile.TemporaryDirectory(prefix="wuffchat-bench-") as workdir:
        server = _spawn(workdir)
        assert server.stdin is not None and server.stderr is not None
        try:
            ports = json.loads(await asyncio.to_thread(server.stderr.readline))
            # alternate short rounds so drift (warm-up, CPU clock, neighbours) hits all alike
            runs = [(case, name) for case in cases for name in ports if name != "inline" or case is CASES[0]]
            totals: dict[tuple[str, str], tuple[list[float], float, float]] = {
                (case.name, name): ([], 0.0, 0.0) for case, name in runs
            }
            per_round: dict[tuple[str, str], list[float]] = {(case.name, name): [] for case, name in runs}
            for _ in range(args.rounds):
                for case, name in runs:
                    lat, elapsed, cpu = await _load(
                        ports[name], case, args.seconds / args.rounds, args.concurrency, server.pid
                    )
                    all_lat, all_elapsed, all_cpu = totals[case.name, name]
                    totals[case.name, name] = (all_lat + lat, all_elapsed + elapsed, all_cpu + cpu)
                    per_round[case.name, name].append(len(lat) / elapsed)
            results = {key: _summary(*total) for key, total in totals.items()}
        finally:
            server.stdin.close()
            server.wait(30)
            server.stderr.close()
    print(f"{args.concurrency} in-flight unary calls, {args.seconds:g} s per row in {args.rounds} alternating rounds")
    print("| method | server | RPS | p50 ms | p99 ms | server CPU us/call |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for (case_name, name), r in results.items():
        print(
            f"| {case_name} | {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['server_cpu_us']:.0f} |"
        )
    print()
    print("| method | server/bare | throughput, all rounds | paired rounds: median (min-max) |")
    print("| --- | --- | ---: | ---: |")
    for case_name, name in results:
        if name == "bare":
            continue
        ratio = results[case_name, name]["rps"] / results[case_name, "bare"]["rps"]
        # each round's row against the bare row run just before it: drift between rounds cancels out
        paired = sorted(x / b for x, b in zip(per_round[case_name, name], per_round[case_name, "bare"], strict=True))
        target = " (target >= 80%)" if (case_name, name) == ("public", "chain") else ""
        print(
            f"| {case_name} | {name}{target} | {ratio:.1%} "
            f"| {statistics.median(paired):.1%} ({paired[0]:.1%}-{paired[-1]:.1%}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=16.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--cases", nargs="+", default=[case.name for case in CASES], choices=[c.name for c in CASES])
    parser.add_argument("--serve", metavar="WORKDIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(Path(args.serve)))
    else:
        asyncio.run(_client(args))


if __name__ == "__main__":
    main()
