"""KnowledgeService at the gRPC boundary: search for any principal, upsert/delete for admins only,
changes take effect without restart and survive one."""

from __future__ import annotations

import grpc
import pytest
from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb

from tests.knowledge import contract
from tests.knowledge.contract import ADMIN, SERVICE, Stub


async def test_unary_search_ranks_and_rejects_off_topic(knowledge: Stub) -> None:
    await contract.service_ranks_and_rejects_off_topic(knowledge)


async def test_unary_search_needs_a_principal(knowledge: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await knowledge.SearchBehaviors(pb.SearchBehaviorsRequest(query="er zieht an der leine"))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_upsert_and_delete_need_admin(knowledge: Stub) -> None:
    for pending in (
        knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=contract.sofa_behavior()), metadata=SERVICE),
        knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="leinenziehen"), metadata=SERVICE),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pending
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_unary_upsert_takes_effect_and_survives_restart(knowledge: Stub, start_server) -> None:  # type: ignore[no-untyped-def]
    await contract.service_upsert_takes_effect_and_survives_restart(knowledge, start_server)


async def test_unary_upsert_rejects_unknown_exercise_and_delete_unknown(knowledge: Stub) -> None:
    broken = contract.sofa_behavior()
    broken.exercises[:] = ["gibt-es-nicht"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=broken), metadata=ADMIN)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="gibt-es-nicht"), metadata=ADMIN)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
