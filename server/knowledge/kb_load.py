"""`python -m server kb-load` (`make kb-load`): create the Weaviate collection and load the knowledge base.

Loads data/knowledge with the admin overlay (what the server would serve), embeds every passage with
the shared encoder and embedding cache, drops and recreates the collection and stores the passages, so
re-running replaces what was there. The server keeps the collection in step on its own afterwards.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.config import KnowledgeSettings

from . import factory, loader
from .retrieval.interface import RetrieverUnavailableError


class KbLoadError(RuntimeError):
    """The load cannot be done; the message is one line."""


async def run(settings: KnowledgeSettings) -> int:
    """Load the knowledge base into Weaviate and print a summary; 0 on success.

    Raises:
        KbLoadError: WEAVIATE_URL is unset, the knowledge base is invalid, or Weaviate fails.
    """
    if settings.weaviate_url is None:
        raise KbLoadError("kb-load needs WEAVIATE_URL (the Weaviate server to load)")
    try:
        base = await asyncio.to_thread(loader.load, Path(settings.dir), Path(settings.overlay_dir))
    except loader.KnowledgeError as exc:
        raise KbLoadError(f"knowledge base invalid: {exc.problems[0]} ({len(exc.problems)} problem(s))") from None
    cache = await factory.embedding_cache(Path(settings.cache_dir))
    target = factory.WeaviateTarget(
        settings.weaviate_url, settings.weaviate_grpc_port, settings.weaviate_timeout_seconds
    )
    try:
        retriever = await factory.weaviate_retriever(target, cache)
        try:
            count = await retriever.load(list(base.behaviors.values()))
        finally:
            await retriever.close()
    except RetrieverUnavailableError as exc:
        raise KbLoadError(str(exc)) from None
    print(f"kb-load: {len(base.behaviors)} behaviours, {count} passages in {settings.weaviate_url}")
    return 0
