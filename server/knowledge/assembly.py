"""Build the knowledge part from settings, once, at start: the servicer and the stack behind it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rpc.metrics import Metrics
from server.audit import AuditLog
from server.config import KnowledgeSettings

from . import factory
from .service import KnowledgeService


@dataclass(frozen=True)
class KnowledgePart:
    """The knowledge servicer and the base, retriever and search it serves (the conversation uses them too)."""

    servicer: KnowledgeService
    knowledge: factory.Knowledge
    owned: bool = True  # False: a stack built elsewhere (tests share one), closed by whoever built it

    async def aclose(self) -> None:
        if self.owned:
            await self.knowledge.aclose()


def _weaviate(settings: KnowledgeSettings) -> factory.WeaviateTarget | None:
    if settings.weaviate_url is None:
        return None
    return factory.WeaviateTarget(settings.weaviate_url, settings.weaviate_grpc_port, settings.weaviate_timeout_seconds)


async def build_knowledge(
    settings: KnowledgeSettings,
    *,
    audit: AuditLog | None = None,
    metrics: Metrics | None = None,
    prebuilt: factory.Knowledge | None = None,
) -> KnowledgePart:
    """Load and validate the base, load the embedding model, index the behaviours; with `prebuilt` (a
    stack built from the same settings, which tests share between servers) only the servicer is new
    (its retrieval counts on the metrics it was built with).

    Raises:
        KnowledgeError: the base breaks its schema.
        RetrieverUnavailableError: Weaviate (`WEAVIATE_URL`) cannot be reached or refuses the passages.
    """
    if prebuilt is not None:
        return KnowledgePart(KnowledgeService(prebuilt.store, prebuilt.search, audit=audit), prebuilt, owned=False)
    knowledge = await factory.build(
        Path(settings.dir),
        Path(settings.overlay_dir),
        Path(settings.cache_dir),
        weaviate=_weaviate(settings),
        metrics=metrics,
    )
    servicer = KnowledgeService(knowledge.store, knowledge.search, audit=audit)
    return KnowledgePart(servicer=servicer, knowledge=knowledge)
