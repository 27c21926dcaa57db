"""Search with the "no match" decision: the retriever ranks, the topic check and thresholds decide.

Used by KnowledgeService.SearchBehaviors and by the conversation flow, so both answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from .retrieval.interface import Match, Retriever
from .topic import Topic

DEFAULT_THRESHOLD = 0.5  # confidence needed when the text holds no dog word or behaviour verb
DEFAULT_WEAK_THRESHOLD = 0.3  # confidence needed when it does


@dataclass(frozen=True)
class SearchResult:
    """The matches that passed (best first) and whether the text is about a dog at all."""

    matches: list[Match]
    about_dog: bool  # lexically recognizable as about a dog (decides "could not place it" vs "tell me more")


class KnowledgeSearch:
    """`retriever` ranks; `topic` knows the breed words; thresholds are confidences in 0..1."""

    def __init__(self, retriever: Retriever, topic: Topic) -> None:
        self._retriever = retriever
        self._topic = topic

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    async def search(self, query: str, limit: int) -> SearchResult:
        """Matches above the threshold, best first; empty when the text is not about a dog's behaviour."""
        ranked = await self._retriever.search(query, max(limit, 1))
        best = ranked[0].score if ranked else 0.0
        evidence = self._topic.evidence(query)
        about_dog = (evidence.strong or evidence.weak) and not evidence.other_subject
        if not self._topic.verdict(query, best):
            return SearchResult(matches=[], about_dog=about_dog)
        floor = self._topic.weak_threshold
        return SearchResult(matches=[m for m in ranked[:limit] if m.score >= floor], about_dog=True)
