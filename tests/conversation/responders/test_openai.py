"""The OpenAI responder with the real `openai` client against a local Chat Completions server
(tests/support/chat_completions.py): answers, streams, and falls back to the offline text on failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from server.conversation.responders.interface import Composition
from server.conversation.responders.openai import OpenAIResponder, StreamFallback
from tests.support.chat_completions import REPLY, FakeOpenAI, fake_openai

OFFLINE = Composition("symptom_view", "de", "Ich ziehe, weil draußen alles so spannend ist.")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


@pytest.fixture
async def responder(fake: FakeOpenAI) -> AsyncIterator[OpenAIResponder]:
    client = openai.AsyncOpenAI(api_key="test-key", base_url=fake.base_url, max_retries=0, timeout=5)
    yield OpenAIResponder(client, "gpt-4o-mini", timeout=2.0)  # a loaded CI machine took 0.5 s for a first answer
    await client.close()


async def _stream(responder: OpenAIResponder) -> tuple[list[str], str | None]:
    pieces: list[str] = []
    try:
        async for piece in responder.stream(OFFLINE):
            pieces.append(piece)
    except StreamFallback as fallback:
        return pieces, fallback.text
    return pieces, None


async def test_unary_answer_uses_prompt_files(fake: FakeOpenAI, responder: OpenAIResponder) -> None:
    assert await responder.respond(OFFLINE) == "".join(REPLY)
    sent = fake.requests[-1]
    assert sent["model"] == "gpt-4o-mini" and sent["messages"][0]["role"] == "system"
    assert "first person" in sent["messages"][0]["content"] and OFFLINE.offline_text in sent["messages"][1]["content"]


@pytest.mark.parametrize("mode", ["429", "500", "malformed", "empty", "slow"])
async def test_unary_failure_falls_back(fake: FakeOpenAI, responder: OpenAIResponder, mode: str) -> None:
    fake.mode = mode
    assert await responder.respond(OFFLINE) == OFFLINE.offline_text


async def test_stream_deltas(responder: OpenAIResponder) -> None:
    pieces, fallback = await _stream(responder)
    assert pieces == REPLY and fallback is None


@pytest.mark.parametrize("mode", ["429", "500", "empty", "slow"])
async def test_stream_failure_before_first_delta_yields_offline(
    fake: FakeOpenAI, responder: OpenAIResponder, mode: str
) -> None:
    fake.mode = mode
    pieces, fallback = await _stream(responder)
    assert pieces == [OFFLINE.offline_text] and fallback == OFFLINE.offline_text


async def test_stream_broken_mid_way_signals_fallback(fake: FakeOpenAI, responder: OpenAIResponder) -> None:
    fake.mode = "cut"
    pieces, fallback = await _stream(responder)
    assert pieces == REPLY[:1] and fallback == OFFLINE.offline_text
