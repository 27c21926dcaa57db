"""The `Responder` protocol: one dog answer, whole or as text deltas; never fails (falls back offline)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Composition:
    """What the dog should say: `offline_text` is the deterministic answer built from the knowledge texts.

    `purpose` is "symptom_view", "instinct" (the dog speaks) or "exercise" (the companion explains
    an exercise's background); a rewriting responder may only use facts from `offline_text`, must
    answer in `language` and never contradict `details`, what the owner told about the dog (age, sex,
    place). `category` is the triage of the owner's description ("behaviour").
    """

    purpose: str
    language: str
    offline_text: str
    details: Mapping[str, str] = field(default_factory=dict)
    category: str = "behaviour"


class Responder(Protocol):
    async def respond(self, composition: Composition) -> str:
        """The whole answer."""
        ...

    def stream(self, composition: Composition) -> AsyncIterator[str]:
        """The answer as deltas; their concatenation is the answer the turn stores, unless a
        failure mid-stream replaces it with the offline text (the final turn is authoritative)."""
        ...


class StreamFallback(Exception):  # noqa: N818  (a signal, not an error)
    """Raised after a stream broke off; `text` is the offline text the turn stores instead."""

    def __init__(self, text: str) -> None:
        super().__init__("stream fell back to the offline text")
        self.text = text
