"""The `Retriever` protocol: what the flow and KnowledgeService need from any retrieval backend.

The embedded backend (embedded.py) and the Weaviate backend (weaviate.py, `WEAVIATE_URL`) implement
it; nothing above this interface depends on which one runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rpc.errors import DependencyUnavailable
from server.knowledge.types import Behavior


class RetrieverUnavailableError(DependencyUnavailable):
    """A backend behind a server (Weaviate) cannot be reached or refuses work; the message is one line.

    The retrieval boundary's `DependencyUnavailable` (dependency "retrieval"): a call that meets it
    ends with UNAVAILABLE (interceptors/errors.py).
    """

    def __init__(self, message: str) -> None:
        super().__init__("retrieval", message)


@dataclass(frozen=True)
class Match:
    """One ranked behaviour; `score` is a confidence in 0..1 (higher is better)."""

    id: str
    title: str
    score: float


class Retriever(Protocol):
    """Ranks behaviours for an owner's text. Implementations never block the event loop."""

    async def index(self, behaviors: Sequence[Behavior]) -> None:
        """Replace the indexed behaviours (at start, and after every upsert or delete)."""
        ...

    async def search(self, query: str, limit: int) -> list[Match]:
        """The best `limit` behaviours, best first, with confidences; no threshold applied."""
        ...
