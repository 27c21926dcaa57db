"""The Weaviate retriever: hybrid search (BM25 + our vectors) in a Weaviate server, same `Match` contract.

Vectors come from the same encoder and embedding cache as the embedded backend; they are supplied when
passages are stored and with every query, so Weaviate needs no vectorizer module. The client is
weaviate-client v4's async client, so no call blocks the event loop (embedding and stemming run in
the retrieval executor).

Scores, made comparable with the embedded backend (server/knowledge/retrieval/embedded.py):
- Ranking: Weaviate's hybrid search with relative score fusion and alpha = DENSE_WEIGHT (0.3) is the
  embedded convex fusion: min-max normalized vector and BM25 scores, weighted 0.3 and 0.7. A
  behaviour ranks by its best passage.
- Confidence of the best behaviour: the embedded formula, DENSE_WEIGHT * its best cosine + (1 -
  DENSE_WEIGHT) * (1 - exp(-bm25 / BM25_SATURATION)), with the cosine computed from its stored
  vectors and the BM25 score from a BM25 query filtered to that behaviour, so it does not depend on
  the other candidates (an off-topic question scores low, as it does in the embedded backend). The
  collection uses bm25s's k1 and b; Weaviate's BM25F score carries the classic Okapi factor (k1 + 1)
  that bm25s's Lucene variant leaves out, so it is divided by (k1 + 1) to land on the embedded scale.
- Lower ranks: that confidence scaled by their fused score relative to the best one's, so scores
  fall monotonically along the ranking, as in the embedded backend.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import weaviate
from weaviate.classes.config import Configure
from weaviate.classes.data import DataObject
from weaviate.classes.init import AdditionalConfig, Timeout
from weaviate.classes.query import Filter, HybridFusion, MetadataQuery
from weaviate.collections import CollectionAsync

from server.knowledge.types import Behavior

from .cache import EmbeddingCache
from .embedded import BM25_SATURATION, DENSE_WEIGHT
from .encoder import Vectors
from .interface import Match, RetrieverUnavailableError
from .queries import QueryEncoder
from .weaviate_schema import COLLECTION, PROPERTIES, BilingualTerms, Passage, passage_texts, passages

VECTOR = "default"
INSERT_BATCH = 200  # passages per insert_many: each carries its behaviour's whole terms, so keep messages small
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which the embedded backend uses


class WeaviateUnavailableError(RetrieverUnavailableError):
    """Weaviate cannot be reached, is not ready, or refuses passages; the message is one line."""


DEFAULT_TIMEOUT_SECONDS = 5.0


async def connect(
    url: str, grpc_port: int, *, time_budget: float = DEFAULT_TIMEOUT_SECONDS
) -> weaviate.WeaviateAsyncClient:
    """A connected async client for `url` (REST) and `grpc_port` on the same host.

    The client's init checks are skipped because they also ask PyPI for the newest client version on
    every start; readiness is checked here instead. `time_budget` (WEAVIATE_TIMEOUT_SECONDS) is each
    attempt's deadline; `WeaviateRetriever` bounds a whole call with it too, because the client retries
    an UNAVAILABLE gRPC call five times with backoff (1 + 2 + ... + 32 s: a search waited 63 s for a
    Weaviate that is down).

    Raises:
        WeaviateUnavailableError: the server cannot be reached or is not ready.
    """
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "localhost"
    client = weaviate.use_async_with_custom(
        http_host=host,
        http_port=parts.port or (443 if secure else 80),
        http_secure=secure,
        grpc_host=host,
        grpc_port=grpc_port,
        grpc_secure=secure,
        skip_init_checks=True,
        additional_config=AdditionalConfig(
            timeout=Timeout(init=time_budget, query=time_budget, insert=3 * time_budget)
        ),
    )
    try:
        await client.connect()
        ready = await client.is_ready()
    except weaviate.exceptions.WeaviateBaseError as exc:
        await client.close()
        raise WeaviateUnavailableError(f"Weaviate unreachable at {url}: {type(exc).__name__}") from None
    if not ready:
        await client.close()
        raise WeaviateUnavailableError(f"Weaviate at {url} is not ready")
    return client


class WeaviateRetriever:
    """Implements `Retriever` on `client`; `cache` embeds the passages, `executor` runs the CPU work,
    `queries` gives query vectors (by default a `QueryEncoder` of the cache's encoder on `executor`)."""

    def __init__(
        self,
        client: weaviate.WeaviateAsyncClient,
        cache: EmbeddingCache,
        executor: ThreadPoolExecutor,
        *,
        collection: str = COLLECTION,
        queries: QueryEncoder | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._timeout = timeout  # a search's budget, retries included; loading and indexing get 3x
        self._cache = cache
        self._executor = executor
        self._queries = queries or QueryEncoder(cache.encoder, executor)
        self._name = collection
        self._terms = BilingualTerms()
        self._max_passages = 0  # passages of the longest behaviour, known after index()
        self._lock = asyncio.Lock()

    @property
    def _collection(self) -> CollectionAsync:
        return self._client.collections.use(self._name)

    async def close(self) -> None:
        await self._client.close()

    async def ready(self) -> bool:
        """Whether Weaviate says it is ready, within the timeout (the health probe); never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._client.is_ready())
        except Exception:
            return False

    async def drop(self) -> None:
        """Delete the collection (tests against a shared server clean up with it)."""
        await self._client.collections.delete(self._name)

    async def load(self, behaviors: Sequence[Behavior]) -> int:
        """Drop and recreate the collection, then store `behaviors` (`make kb-load`); the passage count.

        Raises:
            WeaviateUnavailableError: Weaviate failed to drop, create or fill the collection.
        """
        async with self._lock:
            try:
                async with asyncio.timeout(3 * self._timeout):
                    if await self._client.collections.exists(self._name):
                        await self._client.collections.delete(self._name)
                return await self._store(behaviors)
            except TimeoutError:
                raise WeaviateUnavailableError("Weaviate did not load the passages in time") from None
            except weaviate.exceptions.WeaviateBaseError as exc:
                raise WeaviateUnavailableError(f"Weaviate failed to load the passages: {type(exc).__name__}") from exc

    async def index(self, behaviors: Sequence[Behavior]) -> None:
        """Bring the collection in step with `behaviors`: upsert every passage, then delete the rest.

        Searches meanwhile see the old and the new passages for a moment; never an empty collection.

        Raises:
            WeaviateUnavailableError: Weaviate failed to store or delete passages.
        """
        async with self._lock:
            try:
                await self._store(behaviors)
            except TimeoutError:
                raise WeaviateUnavailableError("Weaviate did not index in time") from None
            except weaviate.exceptions.WeaviateBaseError as exc:
                raise WeaviateUnavailableError(f"Weaviate failed to index: {type(exc).__name__}") from exc

    async def _store(self, behaviors: Sequence[Behavior]) -> int:
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self._executor, passages, behaviors, self._terms)
        vectors = await loop.run_in_executor(self._executor, self._cache.embed, [row.text for row in rows])
        budget = 3 * self._timeout  # per Weaviate request (embedding above is ours, not bounded here)
        async with asyncio.timeout(budget):
            if not await self._client.collections.exists(self._name):
                await self._client.collections.create(
                    self._name,
                    properties=list(PROPERTIES),
                    vector_config=Configure.Vectors.self_provided(name=VECTOR),
                    inverted_index_config=Configure.inverted_index(bm25_k1=BM25_K1, bm25_b=BM25_B),
                )
        revision = uuid.uuid4().hex
        objects = _objects(rows, vectors, revision)
        for start in range(0, len(objects), INSERT_BATCH):  # one gRPC message per batch stays far below 4 MiB
            async with asyncio.timeout(budget):
                result = await self._collection.data.insert_many(objects[start : start + INSERT_BATCH])
            if result.has_errors:
                first = next(iter(result.errors.values()))
                raise WeaviateUnavailableError(f"Weaviate refused {len(result.errors)} passage(s): {first.message}")
        async with asyncio.timeout(budget):
            await self._collection.data.delete_many(where=Filter.by_property("revision").not_equal(revision))
        counts = [len(passage_texts(b)) for b in behaviors]
        self._max_passages = max(counts, default=0)
        return len(rows)

    async def search(self, query: str, limit: int) -> list[Match]:
        if self._max_passages == 0 or limit < 1:
            return []
        loop = asyncio.get_running_loop()
        vector = await self._queries.vector(query)
        terms = await loop.run_in_executor(self._executor, self._terms.query, query)
        try:
            async with asyncio.timeout(self._timeout):
                fused = await self._hybrid(terms, vector, limit)
                if not fused:
                    return []
                top_id, top_fused = fused[0][0], fused[0][2]
                confidence = await self._confidence(top_id, terms, vector)
        except TimeoutError:
            raise WeaviateUnavailableError("Weaviate search timed out") from None
        except weaviate.exceptions.WeaviateBaseError as exc:  # the client wraps gRPC and HTTP failures
            raise WeaviateUnavailableError(f"Weaviate search failed: {type(exc).__name__}") from exc
        scale = confidence / top_fused if top_fused > 0 else 0.0
        return [Match(id_, title, round(min(1.0, score * scale), 4)) for id_, title, score in fused]

    async def _hybrid(self, terms: str, vector: Vectors, limit: int) -> list[tuple[str, str, float]]:
        """(behaviour id, title, fused score) of the best `limit` behaviours, best first."""
        # `limit` behaviours need at most limit * max_passages passages (a behaviour has at most that many)
        response = await self._collection.query.hybrid(
            query=terms or None,
            vector=vector.tolist(),
            alpha=DENSE_WEIGHT if terms else 1.0,
            query_properties=["terms"],
            fusion_type=HybridFusion.RELATIVE_SCORE,
            limit=limit * self._max_passages,
            return_properties=["behavior_id", "title"],
            return_metadata=MetadataQuery(score=True),
        )
        best: dict[str, tuple[str, str, float]] = {}
        for obj in response.objects:
            behavior_id, title = str(obj.properties["behavior_id"]), str(obj.properties["title"])
            score = float(obj.metadata.score or 0.0)
            if behavior_id not in best or score > best[behavior_id][2]:
                best[behavior_id] = (behavior_id, title, score)
        return sorted(best.values(), key=lambda row: -row[2])[:limit]

    async def _confidence(self, behavior_id: str, terms: str, vector: Vectors) -> float:
        """The embedded backend's confidence for one behaviour: its best cosine and its raw BM25 score."""
        only = Filter.by_property("behavior_id").equal(behavior_id)
        stored = await self._collection.query.fetch_objects(
            filters=only, limit=self._max_passages, include_vector=[VECTOR], return_properties=[]
        )
        cosine = max((float(np.dot(obj.vector[VECTOR], vector)) for obj in stored.objects), default=0.0)
        bm25 = 0.0
        if terms:
            lexical = await self._collection.query.bm25(
                query=terms,
                query_properties=["terms"],
                filters=only,
                limit=1,
                return_properties=[],
                return_metadata=MetadataQuery(score=True),
            )
            raw = max((float(obj.metadata.score or 0.0) for obj in lexical.objects), default=0.0)
            bm25 = raw / (BM25_K1 + 1)
        return DENSE_WEIGHT * min(max(cosine, 0.0), 1.0) + (1 - DENSE_WEIGHT) * (
            1.0 - math.exp(-bm25 / BM25_SATURATION)
        )


def _objects(rows: Sequence[Passage], vectors: Vectors, revision: str) -> list[DataObject[dict[str, str], None]]:
    return [
        DataObject(
            properties={"behavior_id": row.behavior_id, "title": row.title, "terms": row.terms, "revision": revision},
            uuid=row.uuid,
            vector={VECTOR: vector.tolist()},
        )
        for row, vector in zip(rows, vectors, strict=True)
    ]
