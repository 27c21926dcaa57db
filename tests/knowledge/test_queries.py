"""Query vectors (knowledge/retrieval/queries.py): micro-batches across concurrent calls, a bounded LRU,
shared encodings of identical texts, errors and cancellation. A stand-in encoder records its calls and
can be held, so a test decides what is queued while a batch runs; no model loads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from server.knowledge.retrieval.encoder import Vectors
from server.knowledge.retrieval.queries import QueryEncoder


class GatedEncoder:
    """Implements `Encoder`: a text's vector is (len(text), 1); each call waits for `release` while `hold` is set."""

    name = "gated"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail: Exception | None = None

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        self.started.set()
        self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


async def _started(encoder: GatedEncoder) -> None:
    await asyncio.to_thread(encoder.started.wait, 10)


async def test_concurrent_queries_share_batches(executor: ThreadPoolExecutor) -> None:
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor)
    first = asyncio.ensure_future(queries.vector("a"))
    await _started(encoder)  # "a" is being encoded alone; the next ones queue meanwhile
    rest = [asyncio.ensure_future(queries.vector(text)) for text in ("bb", "ccc", "dddd")]
    await asyncio.sleep(0)
    encoder.release.set()
    vectors = await asyncio.gather(first, *rest)
    assert encoder.calls == [["a"], ["bb", "ccc", "dddd"]]
    assert [float(v[0]) for v in vectors] == [1.0, 2.0, 3.0, 4.0]
    assert queries.batches == 2


async def test_batches_hold_at_most_max_batch(executor: ThreadPoolExecutor) -> None:
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor, max_batch=2)
    first = asyncio.ensure_future(queries.vector("x"))
    await _started(encoder)
    rest = [asyncio.ensure_future(queries.vector(text)) for text in ("a", "b", "c")]
    await asyncio.sleep(0)
    encoder.release.set()
    await asyncio.gather(first, *rest)
    assert encoder.calls == [["x"], ["a", "b"], ["c"]]


async def test_identical_texts_in_flight_are_encoded_once(executor: ThreadPoolExecutor) -> None:
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor)
    first = asyncio.ensure_future(queries.vector("x"))
    await _started(encoder)
    same = [asyncio.ensure_future(queries.vector("Hund")) for _ in range(3)]
    await asyncio.sleep(0)
    encoder.release.set()
    await asyncio.gather(first, *same)
    assert encoder.calls == [["x"], ["Hund"]]


async def test_recent_texts_come_from_the_bounded_cache(executor: ThreadPoolExecutor) -> None:
    encoder = GatedEncoder()
    queries = QueryEncoder(encoder, executor, cache_size=2)
    for text in ("a", "bb", "a"):
        await queries.vector(text)
    assert encoder.calls == [["a"], ["bb"]]  # the second "a" was remembered
    await queries.vector("ccc")  # evicts the least recently used: "bb"
    await queries.vector("a")
    await queries.vector("bb")
    assert encoder.calls == [["a"], ["bb"], ["ccc"], ["bb"]]


async def test_cached_vector_is_its_own_row(executor: ThreadPoolExecutor) -> None:
    """A remembered vector does not keep its whole batch alive (a view would)."""
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor)
    first = asyncio.ensure_future(queries.vector("x"))
    await _started(encoder)
    rest = [asyncio.ensure_future(queries.vector(text)) for text in ("a", "b")]
    await asyncio.sleep(0)
    encoder.release.set()
    await asyncio.gather(first, *rest)
    assert all(vector.base is None for vector in await asyncio.gather(*(queries.vector(t) for t in ("a", "b"))))


async def test_encoder_error_reaches_every_caller_of_the_batch_and_the_next_batch_runs(
    executor: ThreadPoolExecutor,
) -> None:
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor)
    encoder.fail = RuntimeError("model broken")
    failing = [asyncio.ensure_future(queries.vector(text)) for text in ("a", "b")]
    await _started(encoder)
    encoder.release.set()
    for future in failing:
        with pytest.raises(RuntimeError, match="model broken"):
            await future
    encoder.fail = None
    assert float((await queries.vector("ccc"))[0]) == 3.0
    assert float((await queries.vector("a"))[0]) == 1.0  # a failed text is not remembered: encoded again


async def test_a_cancelled_caller_does_not_cancel_the_others(executor: ThreadPoolExecutor) -> None:
    encoder = GatedEncoder()
    encoder.release.clear()
    queries = QueryEncoder(encoder, executor)
    first = asyncio.ensure_future(queries.vector("x"))
    await _started(encoder)
    leaving = asyncio.ensure_future(queries.vector("Hund"))
    staying = asyncio.ensure_future(queries.vector("Hund"))
    await asyncio.sleep(0)
    leaving.cancel()
    encoder.release.set()
    assert float((await staying)[0]) == 4.0
    await first
    assert leaving.cancelled()
