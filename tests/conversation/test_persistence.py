"""A server restart mid-conversation loses nothing: stop the real server, start another on the same SQLite file."""

from __future__ import annotations

import grpc
import pytest
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.conversation.store import new_id
from tests.conversation.helpers import ALICE, say, start, walk_to


@pytest.mark.both_databases
async def test_unary_conversation_continues_after_restart(start_server) -> None:  # type: ignore[no-untyped-def]
    first = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as chan:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(chan)
        cid = await start(stub)
        await walk_to(stub, cid, pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT)
    await first.stop(0)
    second = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as chan:
        stub = conversation_service_pb2_grpc.ConversationServiceStub(chan)
        history = await stub.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
        assert history.state == pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT and len(history.messages) == 9
        nxt = await say(stub, cid, "Im Wald, wenn er Rehe riecht.")
        assert nxt.state == pb.CONVERSATION_STATE_ASK_FOR_EXERCISE


def test_conversation_ids_never_start_with_a_dash() -> None:
    """A leading "-" would make `wuffchat history <id>` read the id as an option (1 id in 64 before)."""
    ids = [new_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 43 for i in ids) and len(set(ids)) == len(ids)
