"""Build the conversation part from settings, once, at start: the servicer and its sweeper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import AuditLog
from server.clock import Clock, system_clock
from server.config import Settings
from server.knowledge.factory import Knowledge

from .paging import PageTokens
from .responders.interface import Responder
from .responders.offline import OfflineResponder
from .service import ConversationService
from .store import ConversationStore
from .sweeper import Sweeper


@dataclass(frozen=True)
class ConversationPart:
    """The conversation servicer and the sweeper that purges the flow state of expired conversations."""

    servicer: ConversationService
    sweeper: Sweeper


def _responder(settings: Settings) -> Responder:
    """Offline by default; OpenAI when OPENAI_API_KEY is set (falls back offline on any failure)."""
    if settings.openai_api_key is None:
        return OfflineResponder()
    import openai

    from .responders.openai import OpenAIResponder

    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=0,
    )
    return OpenAIResponder(client, settings.openai_model, timeout=settings.openai_timeout_seconds)


def build_conversation(
    settings: Settings,
    engine: AsyncEngine,
    knowledge: Knowledge,
    *,
    clock: Clock = system_clock,
    audit: AuditLog | None = None,
) -> ConversationPart:
    """Wire the store, the responder and the flow's knowledge into the servicer; the sweeper is not started."""
    store = ConversationStore(engine, contact_retention=timedelta(days=settings.retention_contact_days))
    servicer = ConversationService(
        store,
        knowledge.store,
        knowledge.search,
        _responder(settings),
        ttl=timedelta(seconds=settings.conversation_ttl_seconds),
        page_tokens=PageTokens((settings.secret_key, *settings.previous_secret_keys)),
        clock=clock,
        audit=audit,
    )
    return ConversationPart(servicer=servicer, sweeper=Sweeper(store, clock, interval=settings.sweep_interval_seconds))
