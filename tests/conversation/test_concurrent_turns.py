"""Two instances never interleave two turns of one conversation (issue 15): a turn applies only to the
conversation version it read. Two real servers share one database; instance A reads and plans a turn
and is held just before storing it, instance B stores a whole turn meanwhile, then A goes on: A's turn
is refused with ABORTED (ErrorInfo CONVERSATION_CHANGED), nothing of it is stored, and the history holds
exactly B's turn."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from grpc_status import rpc_status
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.conversation.store import ConversationStore
from tests.conftest import StartServer
from tests.conversation.helpers import ALICE, say, start

pytestmark = pytest.mark.both_databases


async def test_unary_a_stale_turn_on_another_instance_is_aborted_and_stores_nothing(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await start_server(), await start_server()
    held, release = asyncio.Event(), asyncio.Event()
    real_save = ConversationStore.save_turn
    calls = 0

    async def save_turn(self: ConversationStore, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # instance A's turn: read and planned, now held before it is stored
            held.set()
            await release.wait()
        await real_save(self, **kwargs)

    monkeypatch.setattr(ConversationStore, "save_turn", save_turn)
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as chan_a,
        grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as chan_b,
    ):
        stub_a = conversation_service_pb2_grpc.ConversationServiceStub(chan_a)
        stub_b = conversation_service_pb2_grpc.ConversationServiceStub(chan_b)
        cid = await start(stub_a)
        turn_a = asyncio.create_task(say(stub_a, cid, "Er zieht ständig an der Leine."))
        await asyncio.wait_for(held.wait(), 30)
        answer_b = await say(stub_b, cid, "Er bellt jeden Besucher an der Tür an.")
        release.set()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await turn_a
        history = await stub_b.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)

    assert refused.value.code() is grpc.StatusCode.ABORTED
    status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
    assert status is not None and any(d.type_url.endswith("ErrorInfo") for d in status.details)
    assert "CONVERSATION_CHANGED" in str(refused.value.trailing_metadata())
    users = [m.text for m in history.messages if m.sender == pb.SENDER_USER]
    assert users == ["Er bellt jeden Besucher an der Tür an."]  # B's turn only; nothing of A's
    assert history.state == answer_b.state
