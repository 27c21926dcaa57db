"""Retrieval quality on bench/data/retrieval_eval.yaml: recall@1, recall@3, off-topic wrongly matched.

Run: .venv/bin/python bench/retrieval.py   (prints one row per method; the server uses "hybrid convex")
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.knowledge import factory  # noqa: E402


async def evaluate(fusion: factory.Fusion) -> tuple[float, float, int, int, int, float]:
    data = yaml.safe_load((ROOT / "bench/data/retrieval_eval.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = await factory.build(ROOT / "data/knowledge", Path(tmp) / "overlay", Path(tmp), fusion=fusion)
        hit1 = hit3 = 0
        started = time.perf_counter()
        for item in data["labelled"]:
            result = await knowledge.search.search(item["text"], 3)
            ids = [m.id for m in result.matches]
            hit1 += bool(ids) and ids[0] == item["slug"]
            hit3 += item["slug"] in ids
        off = [t for t in data["off_topic"] if (await knowledge.search.search(t, 3)).matches]
        elapsed = time.perf_counter() - started
    n = len(data["labelled"])
    queries = n + len(data["off_topic"])
    return hit1 / n, hit3 / n, len(off), len(data["off_topic"]), n, 1000 * elapsed / queries


async def main() -> None:
    print(f"{'method':<16} {'recall@1':>8} {'recall@3':>8} {'off-topic matched':>18} {'ms/query':>9}")
    for fusion in ("convex", "rrf"):
        r1, r3, off, total_off, n, ms = await evaluate(fusion)  # type: ignore[arg-type]
        print(f"hybrid {fusion:<9} {r1:>8.3f} {r3:>8.3f} {off:>8} of {total_off:<8} {ms:>9.2f}")
    print(f"({n} labelled sentences; target recall@1 >= 0.9, no off-topic sentence matched)")


if __name__ == "__main__":
    asyncio.run(main())
