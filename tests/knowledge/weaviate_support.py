"""Helpers for the Weaviate backend tests: the knowledge base, the embedding cache, a connected retriever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from server.knowledge import factory, loader
from server.knowledge.retrieval.cache import EmbeddingCache
from server.knowledge.retrieval.weaviate import WeaviateRetriever, connect
from server.knowledge.types import Behavior

ROOT = Path(__file__).resolve().parents[2]


def behaviors() -> list[Behavior]:
    """The shipped knowledge base's behaviours (no overlay)."""
    return list(loader.load(ROOT / "data/knowledge", ROOT / "var/no-overlay-in-tests").behaviors.values())


@asynccontextmanager
async def weaviate_retriever(
    url: str, grpc_port: int, cache_dir: Path, *, collection: str | None = None
) -> AsyncIterator[WeaviateRetriever]:
    """A retriever on a real weaviate-client connected to `url`; closed on exit."""
    cache = EmbeddingCache(factory.shared_encoder(), cache_dir)
    with ThreadPoolExecutor(max_workers=2) as executor:
        client = await connect(url, grpc_port)
        extra = {} if collection is None else {"collection": collection}
        retriever = WeaviateRetriever(client, cache, executor, **extra)
        try:
            yield retriever
        finally:
            await retriever.close()
