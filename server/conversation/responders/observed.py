"""A `Responder` with spans: `responder.respond` / `responder.stream` below the call's span (rpc/tracing.py).

The OpenAI responder counts its own fallbacks (`wuffchat_responder_fallbacks_total{mode}`), where it
decides them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from rpc import tracing

from .interface import Composition, Responder


class ObservedResponder:
    """`inner` ("offline" or "openai", `kind`) with a span per answer."""

    def __init__(self, inner: Responder, kind: str) -> None:
        self.inner = inner
        self._kind = kind

    async def respond(self, composition: Composition) -> str:
        with tracing.child("responder.respond", responder=self._kind, purpose=composition.purpose):
            return await self.inner.respond(composition)

    async def stream(self, composition: Composition) -> AsyncIterator[str]:
        with tracing.child("responder.stream", responder=self._kind, purpose=composition.purpose):
            async for delta in self.inner.stream(composition):
                yield delta
