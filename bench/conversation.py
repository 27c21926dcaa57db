"""Full conversations per second and SendMessage p50/p99 at 32 concurrent conversations (offline responder).

The server runs in this process with the full interceptor chain (build_chain, as app.py builds it).
Each of the `concurrency` workers authenticates with an API key of its own (real x-api-key
authentication); rate limits are raised so the bench measures throughput, not the limiter. Each conversation
walks the whole flow: start, symptom, yes, context, yes (exercise), no, five feedback answers.
Run: .venv/bin/python bench/conversation.py [--conversations 256] [--concurrency 32] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wuffchat.conversation.v1 import conversation_service_pb2 as pb  # noqa: E402
from wuffchat.conversation.v1 import conversation_service_pb2_grpc  # noqa: E402

from server.app import start  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.log import configure_logging  # noqa: E402

TURNS = [
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
]


def key(worker: int) -> str:
    return f"wck_bench-{worker:03d}-0123456789abcdef0123456789"


async def one(stub: conversation_service_pb2_grpc.ConversationServiceStub, worker: int, latencies: list[float]) -> None:
    meta = (("x-api-key", key(worker)),)
    started = await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=meta)
    for text in TURNS:
        t0 = time.perf_counter()
        await stub.SendMessage(pb.SendMessageRequest(conversation_id=started.conversation_id, text=text), metadata=meta)
        latencies.append(time.perf_counter() - t0)


async def main(total: int, concurrency: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys = ",".join(f"bench-{w}:service:{key(w)}" for w in range(concurrency))
        limits = "default=1000000/minute,StartConversation=1000000/minute,SendMessage=1000000/minute"
        settings = load_settings(
            {
                "API_KEYS": keys,
                "RATE_LIMITS": limits,
                "GRPC_ADDR": "127.0.0.1:0",
                "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
                "KNOWLEDGE_OVERLAY_DIR": f"{tmp}/overlay",
                "CACHE_DIR": f"{tmp}/cache",
            }
        )
        running = await start(settings)
        latencies: list[float] = []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
            await one(stub, 0, [])  # warm-up
            queue = iter(range(total))

            async def worker(index: int) -> None:
                for _ in queue:
                    await one(stub, index, latencies)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(index) for index in range(concurrency)))
            elapsed = time.perf_counter() - t0
        await running.stop(0)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"{'conversations':>13} {'concurrency':>11} {'conv/s':>8} {'SendMessage p50 ms':>19} {'p99 ms':>8}")
    print(f"{total:>13} {concurrency:>11} {total / elapsed:>8.1f} {p50:>19.1f} {p99:>8.1f}")
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"({backend}, offline responder, {len(TURNS)} SendMessage calls per conversation, {len(ordered)} in total)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--database-url", help="an empty postgresql+asyncpg:// database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    configure_logging("WARNING")  # the per-call JSON lines would dominate the measurement
    asyncio.run(main(args.conversations, args.concurrency, args.database_url))
