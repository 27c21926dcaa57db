"""Turns through the whole server with the OpenAI responder pointed at a local Chat Completions server
(tests/support/chat_completions.py): rewritten answers, streamed deltas, offline fallback on failure."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from tests.conversation.helpers import ALICE, SCRIPTS, say, start
from tests.support.chat_completions import REPLY, FakeOpenAI, fake_openai


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


async def test_stream_openai_deltas_and_fallback(fake: FakeOpenAI, start_server) -> None:  # type: ignore[no-untyped-def]
    running = await start_server(OPENAI_API_KEY="test-key", OPENAI_BASE_URL=fake.base_url, OPENAI_TIMEOUT_SECONDS=2.0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as chan:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(chan)
        cid = await start(stub)
        request = pb.StreamMessageRequest(conversation_id=cid, text=SCRIPTS["de"]["symptom"])
        events = [e async for e in stub.StreamMessage(request, metadata=ALICE)]
        deltas = [e.delta for e in events[:-1]]
        start_at = deltas.index(REPLY[0])  # after the "understood" line and its separator
        assert deltas[start_at : start_at + len(REPLY)] == REPLY
        assert events[-1].done.messages[1].text == "".join(REPLY)  # the dog's view, rewritten
        # The rewriting model is told the triage and what the owner said about the dog, never to contradict it.
        system = fake.requests[0]["messages"][0]["content"]
        assert "sorted as: behaviour" in system and "place: walk" in system and "age:" not in system

        await say(stub, cid, "ja")
        fake.requests.clear()
        await say(stub, cid, "Unser 14 Jahre alter Rüde zieht am meisten im Wald.")
        system = fake.requests[0]["messages"][0]["content"]
        assert "age: senior" in system and "sex: male" in system and "place: walk" in system

        fake.mode = "500"
        await say(stub, cid, "neu")  # back to WAIT_FOR_SYMPTOM
        answer = await say(stub, cid, SCRIPTS["de"]["symptom"])
        assert answer.state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION
        assert answer.messages[1].text.startswith("Draußen ist die Welt")  # the offline dog view of leinenziehen
        assert "upstream" not in " ".join(m.text for m in answer.messages)
