"""A `Retriever` that times, traces and counts the searches of another (factory.py wraps every backend).

Each search is a `retrieval.search` span below the call's span (rpc/tracing.py) and one observation of
`wuffchat_retrieval_seconds{backend}`; a backend that cannot answer (RetrieverUnavailableError) counts as
`wuffchat_dependency_errors_total{dependency=backend}` (Weaviate) before the error goes on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rpc import tracing
from rpc.metrics import Metrics
from server.knowledge.types import Behavior

from .interface import Match, Retriever, RetrieverUnavailableError


class ObservedRetriever:
    """`inner` with spans and metrics; `backend` is "embedded" or "weaviate"."""

    def __init__(self, inner: Retriever, backend: str, metrics: Metrics | None) -> None:
        self.inner = inner
        self._backend = backend
        self._seconds = metrics.retrieval_seconds.labels(backend) if metrics is not None else None
        self._errors = metrics.dependency_errors.labels(backend) if metrics is not None else None

    async def index(self, behaviors: Sequence[Behavior]) -> None:
        with tracing.child("retrieval.index", backend=self._backend):
            await self.inner.index(behaviors)

    async def search(self, query: str, limit: int) -> list[Match]:
        started = time.perf_counter()
        try:
            with tracing.child("retrieval.search", backend=self._backend, limit=limit):
                return await self.inner.search(query, limit)
        except RetrieverUnavailableError:
            if self._errors is not None:
                self._errors.inc()
            raise
        finally:
            if self._seconds is not None:
                self._seconds.observe(time.perf_counter() - started)
