"""A client that leaves while its turn is being stored (Ctrl-C after the answer streamed, a deadline)
leaves a whole turn behind and a free database. Real server, real port, both databases: the store is held
just before it writes, the client cancels its call, then the write goes on. Before, the cancellation cut
the transaction off: on SQLite its connection kept the write lock and the next turn of any conversation
failed with UNAVAILABLE after the busy timeout (the CLI Ctrl-C test's flake)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.conversation.store import ConversationStore
from tests.conftest import StartServer
from tests.conversation.helpers import ALICE, SCRIPTS, say, start

pytestmark = pytest.mark.both_databases

SYMPTOM = SCRIPTS["de"]["symptom"]


async def test_stream_cancelled_while_the_turn_is_stored_keeps_the_turn_and_frees_the_database(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_server()
    held, release, stored = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_save = ConversationStore.save_turn

    async def save_turn(self: ConversationStore, **kwargs: Any) -> None:
        if not held.is_set():  # the first turn: its answer streamed, now held before it is stored
            held.set()
            await release.wait()
            await real_save(self, **kwargs)
            stored.set()
            return
        await real_save(self, **kwargs)

    monkeypatch.setattr(ConversationStore, "save_turn", save_turn)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        cid = await start(stub)
        call = stub.StreamMessage(pb.StreamMessageRequest(conversation_id=cid, text=SYMPTOM), metadata=ALICE)
        deltas = [r.delta async for r in _until_held(call, held)]
        call.cancel()
        release.set()
        await asyncio.wait_for(stored.wait(), 30)
        history = await stub.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
        other = await start(stub)
        answer = await asyncio.wait_for(say(stub, other, SYMPTOM), 10)  # no lock left behind

    assert "".join(deltas)
    users = [m.text for m in history.messages if m.sender == pb.SENDER_USER]
    assert users == [SYMPTOM]  # the turn the owner saw, stored whole
    after = [m.sender for m in history.messages][[m.text for m in history.messages].index(SYMPTOM) + 1 :]
    assert after and pb.SENDER_USER not in after  # and the dog's answer to it
    assert answer.messages


async def _until_held(call: Any, held: asyncio.Event) -> Any:
    """The streamed deltas until the server holds the turn's write (the `done` message never comes)."""
    responses = aiter(call)
    while True:
        step = asyncio.ensure_future(anext(responses))
        waiting = asyncio.ensure_future(held.wait())
        done, _ = await asyncio.wait({step, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if step in done:
            waiting.cancel()
            yield step.result()
            continue
        assert waiting in done, "the server never reached the turn's write"
        step.cancel()
        return
