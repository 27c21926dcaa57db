"""SearchBehaviors against the real server: server CPU per call, p50/p99, calls/s, loop lag, stalls.

    .venv/bin/python -m bench.search [--seconds 6] [--rounds 3] [--workers 1 2] [--concurrency 64]
                                     [--queries distinct|pool]

Server and load generator as in bench/conversation.py (bench/harness.py). Each round runs bare
Health/Check, GetCaptcha through the chain, then `--concurrency` SearchBehaviors calls in flight for
`--seconds` with one API key. The queries are the labelled owner messages (data/knowledge/owner_messages.yaml
and the held-out bench/data/eval/triage_heldout.yaml; German and English, behaviours, health signs,
off-topic and vague texts alike): `distinct` (default) makes every text unique by a running number at its
end, so no cache can answer a call; `pool` sends the texts as they are, round-robin (about 2,850 texts).
A stall is a call slower than one second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    Connections,
    LoadGenerator,
    Meter,
    Server,
    Totals,
    api_key,
    api_keys_env,
    captcha_round,
    health_round,
    keep_in_flight,
    machine_line,
)

STALL_SECONDS = 1.0


def queries() -> list[str]:
    texts = []
    for path in (ROOT / "data/knowledge/owner_messages.yaml", ROOT / "bench/data/eval/triage_heldout.yaml"):
        items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
        texts += [str(item["text"]) for item in items]
    return texts


async def searches(port: int, meter: Meter, *, seconds: float, concurrency: int, distinct: bool) -> dict[str, Any]:
    import functools
    import itertools

    from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb
    from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

    texts = queries()
    counter = itertools.count()
    meta = (("x-api-key", api_key(0)),)

    def request() -> pb.SearchBehaviorsRequest:
        n = next(counter)
        text = texts[n % len(texts)]
        return pb.SearchBehaviorsRequest(query=f"{text} {n}" if distinct else text, limit=3)

    def send(stub: knowledge_service_pb2_grpc.KnowledgeServiceStub) -> Any:
        return stub.SearchBehaviors(request(), metadata=meta)

    async with Connections(port, concurrency) as connections:
        stubs = [knowledge_service_pb2_grpc.KnowledgeServiceStub(c) for c in connections.channels]
        for i in range(50):  # warm-up
            await stubs[i % len(stubs)].SearchBehaviors(request(), metadata=meta)
        senders = [functools.partial(send, stub) for stub in stubs]
        latencies, errors = await keep_in_flight(senders, meter, seconds=seconds, concurrency=concurrency)
    return {"latencies": latencies, "calls": len(latencies), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="SearchBehaviors load per round")
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="Health and GetCaptcha per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--queries", choices=("distinct", "pool"), default="distinct")
    args = parser.parse_args()
    print(machine_line())
    gen = LoadGenerator()
    rows: dict[tuple[str, int], Totals] = {}
    stalls: dict[int, int] = {}
    try:
        for workers in args.workers:
            bare = Server(workers, bare=True).start()
            server = Server(workers, env={"API_KEYS": api_keys_env(1)}).start()
            try:
                for _ in range(args.rounds):
                    rows.setdefault(("bare Health/Check", workers), Totals()).add(
                        health_round(gen, bare, args.baseline_seconds)
                    )
                    rows.setdefault(("GetCaptcha (chain)", workers), Totals()).add(
                        captcha_round(gen, server, args.baseline_seconds)
                    )
                    result = gen.run(
                        "bench.search:searches",
                        server,
                        seconds=args.seconds,
                        concurrency=args.concurrency,
                        distinct=args.queries == "distinct",
                    )
                    stalls[workers] = stalls.get(workers, 0) + sum(1 for x in result["latencies"] if x > STALL_SECONDS)
                    rows.setdefault(("SearchBehaviors", workers), Totals()).add(result)
            finally:
                bare.close()
                server.close()
    finally:
        gen.close()
    print(
        f"{args.rounds} alternating rounds per worker count; SearchBehaviors: {args.concurrency} in flight, "
        f"{args.queries} queries, {args.seconds:g} s per round; Health and GetCaptcha: 64 in flight, "
        f"{args.baseline_seconds:g} s per round"
    )
    print()
    print(
        "| call | workers | server CPU ms/call | calls/s (rounds) | p50 ms | p99 ms | loop lag p99 / max ms "
        "| stalls > 1 s | vs bare |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, workers), t in rows.items():
        bare_rate = rows[("bare Health/Check", workers)].rate
        lag = f"{t.lag_p99:.1f} / {t.lag_max:.1f}" if t.lag_max else ""
        ratio = f"{t.rate / bare_rate:.2f}" if name.startswith("GetCaptcha") else ""
        stall = str(stalls[workers]) if name == "SearchBehaviors" else ""
        print(
            f"| {name} | {workers} | {t.cpu_ms:.2f} | {t.rate:,.0f} ({t.spread()}) | {t.quantile(0.5):.1f} "
            f"| {t.quantile(0.99):.1f} | {lag} | {stall} | {ratio} |"
        )

    for (name, workers), t in rows.items():
        if t.errors:
            print(f"\n{name}, {workers} worker(s): {t.errors} failed calls (left out of the figures)")


if __name__ == "__main__":
    main()
