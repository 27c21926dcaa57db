"""Build the knowledge stack once per process: base, encoder, retriever, store, search."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import loader
from .retrieval.cache import EmbeddingCache
from .retrieval.embedded import EmbeddedRetriever, Fusion
from .retrieval.encoder import Encoder, Usem3Encoder
from .search import DEFAULT_THRESHOLD, DEFAULT_WEAK_THRESHOLD, KnowledgeSearch
from .store import KnowledgeStore
from .topic import Topic

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


async def build(
    knowledge_dir: Path, overlay_dir: Path, cache_dir: Path | None, *, fusion: Fusion = "convex"
) -> Knowledge:
    """Load and validate the base, load the model (off the loop) and index the behaviours.

    Raises:
        loader.KnowledgeError: the base breaks its schema.
    """
    base = await asyncio.to_thread(loader.load, knowledge_dir, overlay_dir)
    encoder = await asyncio.get_running_loop().run_in_executor(_EXECUTOR, shared_encoder)
    cache = await asyncio.to_thread(EmbeddingCache, encoder, cache_dir)
    retriever = EmbeddedRetriever(cache, _EXECUTOR, fusion=fusion)
    store = KnowledgeStore(base, retriever, overlay_dir)
    await store.start()
    breed_words = [alias for group in base.breed_groups for alias in (*group.aliases, *group.breeds)]
    topic = Topic(breed_words, threshold=DEFAULT_THRESHOLD, weak_threshold=DEFAULT_WEAK_THRESHOLD)
    return Knowledge(store=store, search=KnowledgeSearch(retriever, topic))
