"""WeaviateRetriever through the REAL weaviate-client (async, REST + gRPC) against a local stand-in.

No Weaviate server can run on these machines, so tests/support/weaviate_fake.py speaks Weaviate's own
wire protocols (REST for meta, readiness and schema; the weaviate.v1.Weaviate gRPC service with the
client's shipped protos for batch writes, deletes and hybrid/BM25 searches) and really stores, filters
and ranks the objects; every byte the client sends is what it would send to a real Weaviate.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from server.knowledge import factory
from server.knowledge.retrieval.cache import EmbeddingCache
from server.knowledge.retrieval.embedded import EmbeddedRetriever
from server.knowledge.retrieval.weaviate_schema import COLLECTION, passage_texts
from server.knowledge.types import Behavior
from tests.knowledge import contract
from tests.knowledge.weaviate_support import behaviors, weaviate_retriever
from tests.support.weaviate_fake import FakeWeaviate


async def test_search_keeps_the_retrieval_contract(weaviate_fake: FakeWeaviate, embedding_cache: Path) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): the shared retriever contract holds."""
    async with weaviate_retriever(weaviate_fake.url, weaviate_fake.grpc_port, embedding_cache) as retriever:
        await retriever.index(behaviors())
        await contract.retriever_ranks(retriever)
    assert {"POST /v1/schema", "grpc BatchObjects", "grpc BatchDelete", "grpc Search"} <= set(weaviate_fake.calls)


async def test_scores_are_comparable_with_the_embedded_backend(
    weaviate_fake: FakeWeaviate, embedding_cache: Path
) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): the same first match and a confidence within
    0.05 of the embedded backend's, because both use the same formula on the same cosine and BM25 scale."""
    base = behaviors()
    with ThreadPoolExecutor(max_workers=1) as executor:
        embedded = EmbeddedRetriever(EmbeddingCache(factory.shared_encoder(), embedding_cache), executor)
        await embedded.index(base)
        async with weaviate_retriever(weaviate_fake.url, weaviate_fake.grpc_port, embedding_cache) as retriever:
            await retriever.index(base)
            for query, first in contract.QUERIES:
                ours, theirs = (await retriever.search(query, 1))[0], (await embedded.search(query, 1))[0]
                assert ours.id == theirs.id == first
                assert abs(ours.score - theirs.score) < 0.05, (query, ours, theirs)


async def test_index_keeps_weaviate_in_step(weaviate_fake: FakeWeaviate, embedding_cache: Path) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): index() upserts the current passages and
    deletes every other one (a removed behaviour, a dropped phrasing), so searches never see them."""
    base = behaviors()
    async with weaviate_retriever(weaviate_fake.url, weaviate_fake.grpc_port, embedding_cache) as retriever:
        await retriever.index(base)
        stored = weaviate_fake.objects[COLLECTION]
        assert len(stored) == sum(len(passage_texts(b)) for b in base)
        without_leash = [b for b in base if b.id != "leinenziehen"]
        await retriever.index(without_leash)
        assert {obj.properties["behavior_id"] for obj in stored.values()} == {b.id for b in without_leash}
        found = await retriever.search("er zieht an der leine", 5)
        assert "leinenziehen" not in [m.id for m in found]
        trimmed = [b if b.id != "bellen-klingel" else _first_phrasing_only(b) for b in without_leash]
        await retriever.index(trimmed)
        assert len(stored) == sum(len(passage_texts(b)) for b in trimmed)


async def test_load_replaces_the_collection(weaviate_fake: FakeWeaviate, embedding_cache: Path) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): load() (kb-load) drops and recreates the
    collection, so running it twice leaves exactly one copy of every passage."""
    base = behaviors()
    async with weaviate_retriever(weaviate_fake.url, weaviate_fake.grpc_port, embedding_cache) as retriever:
        first = await retriever.load(base)
        ids = set(weaviate_fake.objects[COLLECTION])
        second = await retriever.load(base)
        assert first == second == len(ids) == len(weaviate_fake.objects[COLLECTION])
        assert set(weaviate_fake.objects[COLLECTION]) == ids
    assert weaviate_fake.calls.count("DELETE /v1/schema/" + COLLECTION) == 1  # the first load found none


def _first_phrasing_only(behavior: Behavior) -> Behavior:
    return replace(behavior, phrasings=behavior.phrasings[:1])
