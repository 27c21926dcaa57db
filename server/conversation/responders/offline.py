"""The default responder: the knowledge texts as they are; deterministic, no network."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from .interface import Composition

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class OfflineResponder:
    """Answers with `offline_text`; streams it sentence by sentence."""

    async def respond(self, composition: Composition) -> str:
        return composition.offline_text

    async def stream(self, composition: Composition) -> AsyncIterator[str]:
        parts = SENTENCE_END.split(composition.offline_text)
        for i, part in enumerate(parts):
            yield part if i == len(parts) - 1 else part + " "
