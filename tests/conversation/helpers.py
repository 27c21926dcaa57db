"""Small helpers for scripted conversations at the gRPC boundary."""

from __future__ import annotations

from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from tests.support.auth import ADMIN_KEY, SERVICE_KEY, api_key

Stub = conversation_service_pb2_grpc.ConversationServiceStub
ALICE = api_key(SERVICE_KEY)  # two real principals: the test API keys
BOB = api_key(ADMIN_KEY)

SCRIPTS = {
    "de": {
        "symptom": "Mein Hund zieht beim Spazierengehen ständig an der Leine nach vorne.",
        "context": "Meistens morgens auf dem Feld, wenn er Wild riecht. Er ist ein Beagle.",
        "yes": "ja gerne",
        "no": "nee",
        "unclear": "vielleicht",
        "contact": "hund@example.org",
    },
    "en": {
        "symptom": "My dog keeps pulling on the leash on every walk, he drags me along.",
        "context": "Mostly in the morning on the field when he smells deer. He is a beagle.",
        "yes": "yes please",
        "no": "no",
        "unclear": "maybe",
        "contact": "dog@example.org",
    },
}


async def start(stub: Stub, language: str = "de", who: tuple[tuple[str, str], ...] = ALICE) -> str:
    response = await stub.StartConversation(pb.StartConversationRequest(language=language), metadata=who)
    assert response.state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    return response.conversation_id


async def say(stub: Stub, cid: str, text: str, who: tuple[tuple[str, str], ...] = ALICE) -> pb.SendMessageResponse:
    response: pb.SendMessageResponse = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=cid, text=text), metadata=who
    )
    return response


async def walk_to(stub: Stub, cid: str, state: int, language: str = "de") -> None:
    """Drive a fresh conversation (in WAIT_FOR_SYMPTOM) into `state` the shortest way."""
    s = SCRIPTS[language]
    path = [
        (pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION, s["symptom"]),
        (pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT, s["yes"]),
        (pb.CONVERSATION_STATE_ASK_FOR_EXERCISE, s["context"]),
        (pb.CONVERSATION_STATE_END_OR_RESTART, s["yes"]),
        (pb.CONVERSATION_STATE_FEEDBACK_Q1, s["no"]),
        (pb.CONVERSATION_STATE_FEEDBACK_Q2, "ja, sehr"),
        (pb.CONVERSATION_STATE_FEEDBACK_Q3, "spannend"),
        (pb.CONVERSATION_STATE_FEEDBACK_Q4, "passt"),
        (pb.CONVERSATION_STATE_FEEDBACK_Q5, "9"),
    ]
    if state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM:
        return
    for expected, text in path:
        response = await say(stub, cid, text)
        assert response.state == expected, (text, response)
        if expected == state:
            return
    raise AssertionError(f"state {state} not on the path")
