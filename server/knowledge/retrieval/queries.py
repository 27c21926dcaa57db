"""Query vectors for the retrievers: recent texts from a bounded LRU, the rest encoded in micro-batches.

Encoding one short query costs about 2 ms of CPU, most of it streaming the encoder's weights through
the cache; a batch of 16 costs under 1 ms per text (bench/search.py). So concurrent searches do not
each encode on their own thread: their texts queue, and one batch at a time runs in the executor,
taking whatever queued meanwhile (at most `max_batch`). An idle server encodes a lone query at once,
with no timer and no added wait; under load the batches grow by themselves. Identical texts in
flight share one encoding, and the last `cache_size` texts are answered from memory (an owner who
repeats a description, a client that retries, SearchBehaviors asked the same question).

A `QueryEncoder` belongs to one event loop (the server's); a call from another loop is encoded on its
own, unbatched, so a test that runs its loops one after another still gets vectors.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import Executor

import numpy as np
import numpy.typing as npt

from .encoder import Encoder, Vectors

Vector = npt.NDArray[np.float32]
DEFAULT_CACHE_SIZE = 4096  # 512 float32 each: 8 MB at most
DEFAULT_MAX_BATCH = 32  # past this, a batch's cost per text no longer falls (bench/search.py)


class QueryEncoder:
    """`vector(text)` from the LRU, or from the next micro-batch; see the module docstring."""

    def __init__(
        self,
        encoder: Encoder,
        executor: Executor,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._encoder = encoder
        self._executor = executor
        self._cache_size = cache_size
        self._max_batch = max(1, max_batch)
        self._recent: OrderedDict[str, Vector] = OrderedDict()
        self._waiting: dict[str, asyncio.Future[Vector]] = {}  # queued or being encoded, by text
        self._queue: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = False
        self.batches = 0  # encoder calls made (tests and benchmarks read it)

    async def vector(self, text: str) -> Vector:
        """The L2-normalized vector of `text`.

        Raises:
            Whatever the encoder raises, to every caller waiting for that batch.
        """
        found = self._recent.get(text)
        if found is not None:
            self._recent.move_to_end(text)
            return found
        loop = asyncio.get_running_loop()
        if self._loop is None or (self._loop is not loop and not self._busy):
            self._loop = loop
        if self._loop is not loop:
            return await self._alone(loop, text)
        future = self._waiting.get(text)
        if future is None:
            future = loop.create_future()
            self._waiting[text] = future
            self._queue.append(text)
            if not self._busy:
                self._next_batch()
        # a cancelled caller must not cancel the encoding others wait for
        return await asyncio.shield(future)

    async def _alone(self, loop: asyncio.AbstractEventLoop, text: str) -> Vector:
        self.batches += 1
        vectors: Vectors = await loop.run_in_executor(self._executor, self._encoder.encode, [text])
        vector: Vector = vectors[0].copy()
        return vector

    def _next_batch(self) -> None:
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        if not batch:
            self._busy = False
            return
        self._busy = True
        self.batches += 1
        assert self._loop is not None
        encoding = self._loop.run_in_executor(self._executor, self._encoder.encode, batch)
        encoding.add_done_callback(lambda done: self._finish(batch, done))

    def _finish(self, batch: list[str], done: asyncio.Future[npt.NDArray[np.float32]]) -> None:
        error = None if done.cancelled() else done.exception()
        for i, text in enumerate(batch):
            future = self._waiting.pop(text)
            if future.done():
                continue
            if done.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                vector = done.result()[i].copy()  # a row of its own: a view would keep the whole batch
                future.set_result(vector)
                self._remember(text, vector)
        self._next_batch()

    def _remember(self, text: str, vector: Vector) -> None:
        if self._cache_size <= 0:
            return
        self._recent[text] = vector
        self._recent.move_to_end(text)
        while len(self._recent) > self._cache_size:
            self._recent.popitem(last=False)
