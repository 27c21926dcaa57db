"""Build the knowledge stack once per process: base, encoder, retriever, store, search.

The retriever is the embedded one unless a Weaviate URL is given (`WEAVIATE_URL`), then Weaviate's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rpc.metrics import Metrics

from . import loader
from .dialect import Dialect, load_dialect
from .message_model import MessageModel, OwnerMessage, SentenceVectors, load_examples, load_messages, prefit
from .retrieval.cache import EmbeddingCache
from .retrieval.embedded import EmbeddedRetriever, Fusion
from .retrieval.encoder import Encoder, Usem3Encoder
from .retrieval.interface import Retriever
from .retrieval.observed import ObservedRetriever
from .retrieval.queries import QueryEncoder
from .search import DEFAULT_THRESHOLD, DEFAULT_VERB_THRESHOLD, DEFAULT_WEAK_THRESHOLD, KnowledgeSearch
from .store import KnowledgeStore
from .topic import Topic
from .triage import Category

if TYPE_CHECKING:  # weaviate-client takes about a second to import: only when WEAVIATE_URL is set
    from .retrieval.weaviate import WeaviateRetriever

# Retrieval is CPU work; a small pool keeps it off the event loop (numpy releases the GIL).
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="retrieval")


@functools.cache
def shared_encoder() -> Encoder:
    """The embedding model, loaded once per process (about a second) and shared by every server in it."""
    return Usem3Encoder()


@dataclass(frozen=True)
class Knowledge:
    store: KnowledgeStore
    search: KnowledgeSearch
    retriever: Retriever
    close_retriever: Callable[[], Awaitable[None]] | None = None  # the Weaviate client's close
    ready: Callable[[], Awaitable[bool]] | None = None  # Weaviate's readiness (health); None: embedded

    async def aclose(self) -> None:
        """Close the retriever's connections (the Weaviate client; the embedded one has none)."""
        if self.close_retriever is not None:
            await self.close_retriever()


@dataclass(frozen=True)
class WeaviateTarget:
    """Where the Weaviate backend is (`WEAVIATE_URL` for REST, `WEAVIATE_GRPC_PORT` on the same host)."""

    url: str
    grpc_port: int
    timeout_seconds: float = 5.0  # WEAVIATE_TIMEOUT_SECONDS: every call's time budget


async def embedding_cache(cache_dir: Path | None) -> EmbeddingCache:
    """The shared encoder (loaded off the loop) behind the on-disk embedding cache."""
    encoder = await asyncio.get_running_loop().run_in_executor(_EXECUTOR, shared_encoder)
    return await asyncio.to_thread(EmbeddingCache, encoder, cache_dir)


async def weaviate_retriever(
    target: WeaviateTarget, cache: EmbeddingCache, queries: QueryEncoder | None = None
) -> WeaviateRetriever:
    """A retriever on a connected Weaviate client.

    Raises:
        WeaviateUnavailableError: Weaviate cannot be reached or is not ready.
    """
    from .retrieval.weaviate import WeaviateRetriever, connect

    return WeaviateRetriever(
        await connect(target.url, target.grpc_port, time_budget=target.timeout_seconds),
        cache,
        _EXECUTOR,
        queries=queries,
        timeout=target.timeout_seconds,
    )


async def build(
    knowledge_dir: Path,
    overlay_dir: Path,
    cache_dir: Path | None,
    *,
    fusion: Fusion = "convex",
    weaviate: WeaviateTarget | None = None,
    metrics: Metrics | None = None,
) -> Knowledge:
    """Load and validate the base, load the model (off the loop) and index the behaviours.

    Raises:
        loader.KnowledgeError: the base breaks its schema.
        RetrieverUnavailableError: `weaviate` is given and cannot be reached, or refuses the passages.
    """
    base = await asyncio.to_thread(loader.load, knowledge_dir, overlay_dir)
    cache = await embedding_cache(cache_dir)
    retriever: Retriever
    close: Callable[[], Awaitable[None]] | None = None
    ready: Callable[[], Awaitable[bool]] | None = None
    queries = QueryEncoder(cache.encoder, _EXECUTOR)  # query vectors: recent ones kept, the rest batched
    if weaviate is None:
        retriever = EmbeddedRetriever(cache, _EXECUTOR, fusion=fusion, queries=queries)
    else:
        remote = await weaviate_retriever(weaviate, cache, queries)
        retriever, close, ready = remote, remote.close, remote.ready
    retriever = ObservedRetriever(retriever, "embedded" if weaviate is None else "weaviate", metrics)
    store = KnowledgeStore(base, retriever, overlay_dir)
    try:
        await store.start()
    except Exception:
        if close is not None:
            await close()
        raise
    breed_words = [alias for group in base.breed_groups for alias in (*group.aliases, *group.breeds)]
    topic = Topic(
        breed_words,
        threshold=DEFAULT_THRESHOLD,
        weak_threshold=DEFAULT_WEAK_THRESHOLD,
        verb_threshold=DEFAULT_VERB_THRESHOLD,
    )
    dialect = await asyncio.to_thread(load_dialect, knowledge_dir / "dialect.yaml")
    examples, messages = await asyncio.to_thread(_training_messages, knowledge_dir, dialect)
    vectors = SentenceVectors(cache.encoder.name, cache.embed, queries.vector)
    model = MessageModel(
        lambda: store.base.behaviors, _EXECUTOR, categories=examples, messages=messages, vectors=vectors
    )
    await asyncio.get_running_loop().run_in_executor(_EXECUTOR, model.warm)
    return Knowledge(
        store=store,
        search=KnowledgeSearch(
            retriever,
            topic,
            behaviors=lambda: store.base.behaviors,
            messages=model,
            metrics=metrics,
            dialect=dialect,
        ),
        retriever=retriever,
        close_retriever=close,
        ready=ready,
    )


def prefit_message_model(knowledge_dir: Path, overlay_dir: Path, cache_dir: Path | None) -> None:
    """Fit the message model for the base as it is on disk, into this process's fit cache (blocking, seconds
    of CPU): a `--workers` parent runs it before forking, so the workers inherit one fit (and the loaded
    encoder) instead of each repeating it while they start.

    Raises:
        loader.KnowledgeError: the base breaks its schema.
    """
    cache = EmbeddingCache(shared_encoder(), cache_dir)
    vectors = SentenceVectors(cache.encoder.name, cache.embed)
    dialect = load_dialect(knowledge_dir / "dialect.yaml")
    prefit(loader.load(knowledge_dir, overlay_dir).behaviors, *_training_messages(knowledge_dir, dialect), vectors)


def _training_messages(knowledge_dir: Path, dialect: Dialect) -> tuple[dict[Category, list[str]], list[OwnerMessage]]:
    """The message model's example messages per category and its labelled owner messages, their dialect words
    read as standard German as the search reads a query's."""
    examples = load_examples(knowledge_dir / "triage.yaml")
    messages = load_messages(knowledge_dir / "owner_messages.yaml")
    return (
        {category: [dialect.standard(text) for text in texts] for category, texts in examples.items()},
        [replace(message, text=dialect.standard(message.text)) for message in messages],
    )
