"""The retrieval contract every backend passes, shared by the embedded and the Weaviate tests.

At the gRPC boundary (KnowledgeService on a running server): the right behaviour ranks first with a
confidence in (0, 1], confidences fall along the ranking, an off-topic question finds nothing, and an
admin upsert or delete takes effect at once and survives a restart. At the retriever: the same
ranking rules for `Retriever.search`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from server.app import RunningServer
from server.knowledge.retrieval.interface import Match, Retriever
from tests.support.auth import ADMIN_KEY, SERVICE_KEY, api_key

Stub = knowledge_service_pb2_grpc.KnowledgeServiceStub
SERVICE = api_key(SERVICE_KEY)
ADMIN = api_key(ADMIN_KEY)
DOORBELL = "Mein Hund bellt wie verrückt, sobald es an der Tür klingelt."
OFF_TOPIC = "Wie lange kocht ein Ei?"
SOFA = "Mein Hund scharrt jeden Abend auf dem Sofa, bis die Polster kaputt sind."
# owner texts and the behaviour each must find first
QUERIES = (
    (DOORBELL, "bellen-klingel"),
    ("er zieht an der leine", "leinenziehen"),
)


def sofa_behavior(slug: str = "sofa-kratzen") -> pb.Behavior:
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
        en=pb.BehaviorText(
            title="Scratches the sofa",
            phrasings=[
                "My dog keeps scratching at the sofa with his paws.",
                "she digs into the couch cushions every evening",
                "he scrapes at the settee until the cover rips",
                "Before lying down she paws at the sofa for minutes.",
                "the cushions are ruined because he keeps scratching them",
            ],
            dog_view="I'm making my nest. Scratching is part of lying down for me.",
            instincts=pb.InstinctTexts(
                jagd="I dig.", rudel="I want to lie with you.", territorial="My spot.", sexual="I'm preparing a bed."
            ),
            first_aid="Give your dog a blanket of its own to scratch on.",
        ),
        variants=[
            pb.BehaviorVariant(
                when={"age": "puppy"},
                part="dog_view",
                de="Als Welpe übe ich das noch.",
                en="As a puppy I'm still practising it.",
            )
        ],
    )


def assert_ranked(ranked: Sequence[tuple[str, float]], first: str) -> None:
    """`first` leads with a confidence in (0, 1]; confidences never rise along the ranking."""
    assert ranked, "no matches"
    assert ranked[0][0] == first and 0 < ranked[0][1] <= 1, ranked
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores), ranked


async def retriever_ranks(retriever: Retriever) -> list[Match]:
    """`Retriever.search` contract: ranking, limit, and an off-topic top confidence below an on-topic one."""
    for query, first in QUERIES:
        found = await retriever.search(query, 3)
        assert len(found) == 3
        assert_ranked([(m.id, m.score) for m in found], first)
    off = await retriever.search(OFF_TOPIC, 3)
    assert_ranked([(m.id, m.score) for m in off], off[0].id)
    doorbell = await retriever.search(DOORBELL, 1)
    assert off[0].score < doorbell[0].score / 2, (off, doorbell)
    return doorbell


async def service_ranks_and_rejects_off_topic(knowledge: Stub) -> None:
    found = await knowledge.SearchBehaviors(pb.SearchBehaviorsRequest(query=DOORBELL), metadata=SERVICE)
    assert_ranked([(m.id, m.score) for m in found.matches], "bellen-klingel")
    none = await knowledge.SearchBehaviors(pb.SearchBehaviorsRequest(query=OFF_TOPIC), metadata=SERVICE)
    assert not none.matches


async def service_upsert_takes_effect_and_survives_restart(
    knowledge: Stub, start_second: Callable[[], Awaitable[RunningServer]]
) -> None:
    query = pb.SearchBehaviorsRequest(query=SOFA)
    created = await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=sofa_behavior()), metadata=ADMIN)
    assert created.created
    assert (await knowledge.SearchBehaviors(query, metadata=SERVICE)).matches[0].id == "sofa-kratzen"
    again = await knowledge.UpsertBehavior(pb.UpsertBehaviorRequest(behavior=sofa_behavior()), metadata=ADMIN)
    assert not again.created
    await knowledge.DeleteBehavior(pb.DeleteBehaviorRequest(id="leinenziehen"), metadata=ADMIN)
    # A second server on the same overlay directory sees both changes.
    second = await start_second()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as chan:
        stub = knowledge_service_pb2_grpc.KnowledgeServiceStub(chan)
        assert (await stub.SearchBehaviors(query, metadata=SERVICE)).matches[0].id == "sofa-kratzen"
        pulling = await stub.SearchBehaviors(
            pb.SearchBehaviorsRequest(query="er zieht so an der leine"), metadata=SERVICE
        )
        assert "leinenziehen" not in [m.id for m in pulling.matches]
