"""Build the conversation part from settings, once, at start: the servicer and its sweeper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rpc.metrics import Metrics
from server.audit import AuditLog
from server.clock import Clock, system_clock
from server.config import ConversationSettings, OpenAISettings
from server.knowledge.factory import Knowledge
from server.storage.transactions import Transactions

from .paging import PageTokens
from .responders.interface import Responder
from .responders.observed import ObservedResponder
from .responders.offline import OfflineResponder
from .service import ConversationService
from .store import ConversationStore
from .sweeper import Sweeper


@dataclass(frozen=True)
class ConversationPart:
    """The conversation servicer and the sweeper that purges the flow state of expired conversations."""

    servicer: ConversationService
    sweeper: Sweeper


def _responder(settings: OpenAISettings, metrics: Metrics | None = None) -> Responder:
    """Offline by default; OpenAI when OPENAI_API_KEY is set (falls back offline on any failure)."""
    if settings.api_key is None:
        return ObservedResponder(OfflineResponder(), "offline")
    import openai

    from .responders.openai import OpenAIResponder

    client = openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_seconds,
        max_retries=0,
    )
    return ObservedResponder(
        OpenAIResponder(client, settings.model, timeout=settings.timeout_seconds, metrics=metrics), "openai"
    )


def build_conversation(
    settings: ConversationSettings,
    transactions: Transactions,
    knowledge: Knowledge,
    *,
    openai: OpenAISettings,
    signing_keys: tuple[bytes, ...],
    contact_retention: timedelta,
    clock: Clock = system_clock,
    audit: AuditLog | None = None,
    metrics: Metrics | None = None,
) -> ConversationPart:
    """Wire the store (on `transactions`), the responder and the flow's knowledge into the servicer; the
    sweeper is not started.
    `signing_keys` sign page tokens (the first) and verify them (all); feedback contact data is kept for
    `contact_retention`."""
    store = ConversationStore(transactions, contact_retention=contact_retention)
    servicer = ConversationService(
        store,
        knowledge.store,
        knowledge.search,
        _responder(openai, metrics),
        ttl=timedelta(seconds=settings.ttl_seconds),
        page_tokens=PageTokens(signing_keys),
        clock=clock,
        audit=audit,
        metrics=metrics,
    )
    return ConversationPart(servicer=servicer, sweeper=Sweeper(store, clock, interval=settings.sweep_interval_seconds))
