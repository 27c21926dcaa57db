"""KnowledgeService at the gRPC boundary: search for any principal, upsert/delete for admins only,
changes take effect without restart and survive one."""

from __future__ import annotations

import grpc
import pytest
from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from tests.support.auth import ADMIN_KEY, SERVICE_KEY, api_key

Stub = knowledge_service_pb2_grpc.KnowledgeServiceStub
SERVICE = api_key(SERVICE_KEY)
ADMIN = api_key(ADMIN_KEY)


def _behavior(slug: str = "sofa-kratzen") -> pb.Behavior:
    return pb.Behavior(
        id=slug,
        title="Kratzt am Sofa",
        phrasings=[
            "Mein Hund kratzt ständig mit den Pfoten am Sofa herum.",
            "er scharrt auf der couch bis der bezug kaputt ist",
            "Bevor sie sich hinlegt, buddelt sie minutenlang im Sofapolster.",
            "Unser Rüde gräbt auf dem Sofa, als wolle er ein Loch machen.",
            "die polster sind hin weil er immer drauf rumscharrt",
        ],
        dog_view="Ich mache mir mein Nest. Das Scharren gehört für mich zum Hinlegen dazu.",
        instincts=pb.InstinctTexts(
            jagd="Ich grabe.",
            rudel="Ich will bei dir liegen.",
            territorial="Mein Platz.",
            sexual="Ich bereite ein Lager vor.",
        ),
        instinct_weights=pb.InstinctWeights(jagd=20, rudel=30, territorial=40, sexual=10),
        first_aid="Leg ihm eine eigene Decke hin, auf der er scharren darf.",
        exercises=["deckentraining"],
    )


async def test_unary_search_ranks_and_rejects_off_topic(knowledge: Stub) -> None:
    found = await knowledge.SearchBehaviors(
        pb.SearchBehaviorsRequest(query="Mein Hund bellt wie verrückt, sobald es an der Tür klingelt."),
        metadata=SERVICE,
    )
    assert found.matches[0].id == "bellen-klingel" and 0 < found.matches[0].score <= 1
    assert [m.score for m in found.matches] == sorted((m.score for m in found.matches), reverse=True)
    none = await knowledge.SearchBehaviors(pb.SearchBehaviorsRequest(query="Wie lange kocht ein Ei?"), metadata=SERVICE)
    assert not none.matches


async def test_unary_search_needs_a_principal(knowledge: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await knowledge.SearchBehaviors(pb.SearchBehaviorsRequest(query="er zieht an der leine"))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_upsert_and_delete_need_admin(knowledge: Stub) -> None:
    for pending in (
        knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=_behavior()), metadata=SERVICE),
        knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="leinenziehen"), metadata=SERVICE),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pending
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_unary_upsert_takes_effect_and_survives_restart(knowledge: Stub, start_server) -> None:  # type: ignore[no-untyped-def]
    query = pb.SearchBehaviorsRequest(query="Mein Hund scharrt jeden Abend auf dem Sofa, bis die Polster kaputt sind.")
    created = await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=_behavior()), metadata=ADMIN)
    assert created.created
    assert (await knowledge.SearchBehaviors(query, metadata=SERVICE)).matches[0].id == "sofa-kratzen"
    again = await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=_behavior()), metadata=ADMIN)
    assert not again.created
    await knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="leinenziehen"), metadata=ADMIN)
    # A second server on the same overlay directory sees both changes.
    second = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as chan:
        stub = knowledge_service_pb2_grpc.KnowledgeServiceStub(chan)
        assert (await stub.SearchBehaviors(query, metadata=SERVICE)).matches[0].id == "sofa-kratzen"
        pulling = await stub.SearchBehaviors(
            pb.SearchBehaviorsRequest(query="er zieht so an der leine"), metadata=SERVICE
        )
        assert "leinenziehen" not in [m.id for m in pulling.matches]


async def test_unary_upsert_rejects_unknown_exercise_and_delete_unknown(knowledge: Stub) -> None:
    broken = _behavior()
    broken.exercises[:] = ["gibt-es-nicht"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=broken), metadata=ADMIN)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="gibt-es-nicht"), metadata=ADMIN)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
