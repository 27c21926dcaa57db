"""The OpenAI responder: rewrites the knowledge text in the dog's voice (AsyncOpenAI, streaming).

Prompts live in server/conversation/prompts/. Any failure (timeout after 15 s, 429, 500, connection
error, empty or malformed answer) ends in the offline text, and the fallback is logged without the
upstream error text reaching the client.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import structlog
from openai.types.chat import ChatCompletionMessageParam

from rpc.metrics import Metrics

from .interface import Composition, StreamFallback

log = structlog.get_logger(__name__)
PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
LANGUAGE_NAMES = {"de": "German", "en": "English"}
FAILURES = (openai.OpenAIError, asyncio.TimeoutError, ValueError, TypeError, AttributeError, IndexError, KeyError)


@functools.cache
def _prompt(name: str) -> str:
    return (PROMPTS / f"{name}.md").read_text(encoding="utf-8")


def _details(composition: Composition) -> str:
    """What the owner told about the dog, as a line the prompt says must not be contradicted."""
    known = "; ".join(f"{key}: {value}" for key, value in sorted(composition.details.items()))
    return known or "nothing yet"


def _messages(composition: Composition) -> list[ChatCompletionMessageParam]:
    system = _prompt("system").format(details=_details(composition), category=composition.category)
    user = _prompt(composition.purpose)
    return [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": user.format(
                language=LANGUAGE_NAMES.get(composition.language, "German"), text=composition.offline_text
            ),
        },
    ]


class OpenAIResponder:
    """`client` is an AsyncOpenAI with max_retries=0 (a retry would blow the time budget)."""

    def __init__(
        self, client: openai.AsyncOpenAI, model: str, *, timeout: float = 15.0, metrics: Metrics | None = None
    ) -> None:
        self._fallbacks = metrics.responder_fallbacks if metrics is not None else None
        self._client = client
        self._model = model
        self._timeout = timeout

    async def respond(self, composition: Composition) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                completion = await self._client.chat.completions.create(
                    model=self._model,
                    messages=_messages(composition),
                    temperature=0.4,
                )
            text = completion.choices[0].message.content
            if not isinstance(text, str) or not text.strip():
                raise ValueError("empty answer")
            return text.strip()
        except FAILURES as exc:
            log.warning("openai fallback to offline text", purpose=composition.purpose, error=type(exc).__name__)
            if self._fallbacks is not None:
                self._fallbacks.labels("respond").inc()
            return composition.offline_text

    async def stream(self, composition: Composition) -> AsyncIterator[str]:
        produced = False
        try:
            async with asyncio.timeout(self._timeout):
                chunks = await self._client.chat.completions.create(
                    model=self._model,
                    messages=_messages(composition),
                    temperature=0.4,
                    stream=True,
                )
                async for chunk in chunks:
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta.content
                    if delta:
                        produced = True
                        yield delta
            if not produced:
                raise ValueError("empty stream")
        except FAILURES as exc:
            log.warning("openai stream fallback to offline text", purpose=composition.purpose, error=type(exc).__name__)
            if self._fallbacks is not None:
                self._fallbacks.labels("stream").inc()
            if not produced:
                yield composition.offline_text
            raise StreamFallback(composition.offline_text) from None
