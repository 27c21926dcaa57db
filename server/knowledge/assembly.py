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

    async def aclose(self) -> None:
        await self.knowledge.aclose()


def _weaviate(settings: KnowledgeSettings) -> factory.WeaviateTarget | None:
    if settings.weaviate_url is None:
        return None
    return factory.WeaviateTarget(settings.weaviate_url, settings.weaviate_grpc_port, settings.weaviate_timeout_seconds)


async def build_knowledge(
    settings: KnowledgeSettings, *, audit: AuditLog | None = None, metrics: Metrics | None = None
) -> KnowledgePart:
    """Load and validate the base, load the embedding model, index the behaviours.

    Raises:
        KnowledgeError: the base breaks its schema.
        RetrieverUnavailableError: Weaviate (`WEAVIATE_URL`) cannot be reached or refuses the passages.
    """
    knowledge = await factory.build(
        Path(settings.dir),
        Path(settings.overlay_dir),
        Path(settings.cache_dir),
        weaviate=_weaviate(settings),
        metrics=metrics,
    )
    servicer = KnowledgeService(knowledge.store, knowledge.search, audit=audit)
    return KnowledgePart(servicer=servicer, knowledge=knowledge)
