"""Whole conversations against the real server: server CPU per call, p50/p99, conversations/s, loop lag.

    .venv/bin/python -m bench.conversation [--seconds 6] [--rounds 3] [--workers 1 2] [--concurrency 32]
                                           [--encryption with|without|both] [--database-url URL]
                                           [--observability off|on|compare]

The server runs as its own process tree (bench/harness.py: `python -m bench.serve`, SQLite in a
temporary folder, offline responder, full chain, API keys from the environment, rate limits raised);
the load comes from a separate process with its own grpc.aio client. For each worker count, every
round runs, in this order: bare Health/Check (a grpc.aio server without interceptors, the same number
of processes), GetCaptcha through the chain (64 in flight each), then `--concurrency` conversations
in flight for `--seconds`: each conversation is StartConversation and 10 SendMessage turns (symptom,
yes, context, yes to the exercise, no to another behaviour, five feedback answers), each worker
coroutine with an API key of its own. Server CPU per call is the servers' utime+stime over the timed
part divided by all calls (StartConversation included); p50/p99 are SendMessage's.
`--encryption without` (or `both`) adds rows with the field sealer replaced by a pass-through
(bench/serve.py --plain-fields): issue 18's cost of encryption at rest.
`--observability on` serves with Prometheus metrics (METRICS_ADDR) and OpenTelemetry tracing (every call
sampled, spans exported over OTLP/gRPC to a sink in this process that discards them); `compare` adds
rows for off, metrics only, and metrics with tracing: issue 16's cost of observability.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    Connections,
    LoadGenerator,
    Meter,
    Server,
    Totals,
    api_key,
    api_keys_env,
    captcha_round,
    health_round,
    machine_line,
)

TURNS = (
    "Mein Hund zieht beim Spazierengehen ständig an der Leine nach vorne.",
    "ja",
    "Morgens auf dem Feld, wenn er Wild riecht.",
    "ja",
    "nein",
    "ja",
    "gut",
    "passt",
    "9",
    "nein",
)


async def conversations(port: int, meter: Meter, *, seconds: float, concurrency: int) -> dict[str, Any]:
    """`concurrency` coroutines each run whole conversations until `seconds` have passed (the last one ends)."""
    import asyncio

    import grpc
    from wuffchat.conversation.v1 import conversation_service_pb2 as pb
    from wuffchat.conversation.v1 import conversation_service_pb2_grpc

    latencies: list[float] = []
    counts = {"conversations": 0, "calls": 0, "errors": 0}

    async def one(stub: Any, worker: int, record: bool) -> None:
        meta = (("x-api-key", api_key(worker)),)
        started = await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=meta)
        for text in TURNS:
            begin = time.perf_counter()
            reply = await stub.SendMessage(
                pb.SendMessageRequest(conversation_id=started.conversation_id, text=text), metadata=meta
            )
            if record:
                latencies.append(time.perf_counter() - begin)
            assert reply.messages, "a turn without an answer"
        if record:
            counts["conversations"] += 1
            counts["calls"] += 1 + len(TURNS)

    async with Connections(port, concurrency) as connections:
        stubs = [conversation_service_pb2_grpc.ConversationServiceStub(c) for c in connections.channels]
        await asyncio.gather(*(one(stubs[w % len(stubs)], w, False) for w in range(concurrency)))  # warm-up
        deadline = time.perf_counter() + seconds

        async def worker(index: int) -> None:
            while time.perf_counter() < deadline:
                try:
                    await one(stubs[index % len(stubs)], index, True)
                except grpc.aio.AioRpcError:
                    counts["errors"] += 1  # the conversation is abandoned

        meter.start()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        meter.stop()
    return {
        "latencies": latencies,
        "calls": counts["calls"],
        "units": counts["conversations"],
        "errors": counts["errors"],
    }


class _TraceSink:
    """An OTLP/gRPC TraceService that accepts and drops every export (the bench's collector)."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        class Drop(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802  (the proto's name)
                self.spans = getattr(self, "spans", 0) + sum(
                    len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans
                )
                return trace_service_pb2.ExportTraceServiceResponse()

        self.servicer = Drop()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self.servicer, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def close(self) -> None:
        self._server.stop(0)


def _variants(encryption: str, observability: str, sink_port: int) -> list[tuple[str, bool, dict[str, str]]]:
    """(row name, plain fields, extra environment) of every server a worker count runs."""
    metrics = {"METRICS_ADDR": "127.0.0.1:0"}
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": "always_on",
    }
    if observability == "compare":
        return [
            ("SendMessage (observability off)", False, {}),
            ("SendMessage (metrics)", False, metrics),
            ("SendMessage (metrics + tracing)", False, {**metrics, **tracing}),
        ]
    extra = {**metrics, **tracing} if observability == "on" else {}
    suffix = " (metrics + tracing)" if observability == "on" else ""
    modes = {"with": [False], "without": [True], "both": [False, True]}[encryption]
    return [("SendMessage" + (" (no encryption)" if plain else "") + suffix, plain, extra) for plain in modes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="conversation load per round")
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="Health and GetCaptcha per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--encryption", choices=("with", "without", "both"), default="with")
    parser.add_argument(
        "--observability",
        choices=("off", "on", "compare"),
        default="off",
        help="metrics and tracing: off (default), on, or rows for off / metrics / metrics + tracing",
    )
    parser.add_argument(
        "--database-url", help="an empty postgresql+asyncpg:// database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    if args.database_url and (args.encryption == "both" or len(args.workers) > 1 or args.observability == "compare"):
        parser.error("--database-url serves one server: one --encryption mode, one --workers count, no compare")
    if args.observability == "compare" and args.encryption != "with":
        parser.error("--observability compare runs with encryption only")
    sink = _TraceSink() if args.observability != "off" else None
    variants = _variants(args.encryption, args.observability, sink.port if sink else 0)
    print(machine_line())
    env = {"API_KEYS": api_keys_env(args.concurrency)}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    gen = LoadGenerator()
    rows: dict[tuple[str, int], Totals] = {}
    try:
        for workers in args.workers:
            bare = Server(workers, bare=True).start()
            servers = {
                name: Server(workers, plain_fields=plain, env={**env, **extra}).start()
                for name, plain, extra in variants
            }
            try:
                for _ in range(args.rounds):
                    rows.setdefault(("bare Health/Check", workers), Totals()).add(
                        health_round(gen, bare, args.baseline_seconds)
                    )
                    rows.setdefault(("GetCaptcha (chain)", workers), Totals()).add(
                        captcha_round(gen, servers[variants[0][0]], args.baseline_seconds)
                    )
                    for name, server in servers.items():
                        rows.setdefault((name, workers), Totals()).add(
                            gen.run(
                                "bench.conversation:conversations",
                                server,
                                seconds=args.seconds,
                                concurrency=args.concurrency,
                            )
                        )
            finally:
                bare.close()
                for server in servers.values():
                    server.close()
    finally:
        gen.close()
        if sink is not None:
            sink.close()
    print(
        f"{args.rounds} alternating rounds per worker count; conversations: {args.concurrency} in flight, "
        f"{args.seconds:g} s per round; Health and GetCaptcha: 64 in flight, {args.baseline_seconds:g} s per round"
    )
    print()
    print(
        "| call | workers | server CPU ms/call | calls/s (rounds) | conv/s | p50 ms | p99 ms "
        "| loop lag p99 / max ms | vs bare |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, workers), t in rows.items():
        bare_rate = rows[("bare Health/Check", workers)].rate
        conv = f"{t.units / t.elapsed:.1f}" if t.units else ""
        lag = f"{t.lag_p99:.1f} / {t.lag_max:.1f}" if t.lag_max else ""
        ratio = f"{t.rate / bare_rate:.2f}" if name.startswith("GetCaptcha") else ""
        print(
            f"| {name} | {workers} | {t.cpu_ms:.2f} | {t.rate:,.0f} ({t.spread()}) | {conv} "
            f"| {t.quantile(0.5):.1f} | {t.quantile(0.99):.1f} | {lag} | {ratio} |"
        )
    for (name, workers), t in rows.items():
        if t.errors:
            print(f"\n{name}, {workers} worker(s): {t.errors} failed calls (left out of the figures)")
    if sink is not None:
        print(f"\nspans received by the OTLP sink: {getattr(sink.servicer, 'spans', 0):,}")
    conv_rates = {w: t.units / t.elapsed for (name, w), t in rows.items() if name == "SendMessage" and t.units}
    if 1 in conv_rates and 2 in conv_rates:
        print(f"\nconversations/s, 2 workers vs 1: {conv_rates[2] / conv_rates[1]:.2f}x")


if __name__ == "__main__":
    main()
