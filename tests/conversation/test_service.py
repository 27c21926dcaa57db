"""ConversationService at the gRPC boundary: every state and transition in German and English,
restart from every state, re-asks, expiry, ownership, feedback, streaming, listing and deletion."""

from __future__ import annotations

import base64
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select
from wuffchat.conversation.v1 import conversation_service_pb2 as pb

from server.app import RunningServer
from server.conversation import texts
from server.knowledge import loader
from server.storage import db
from server.storage.models import Feedback
from tests.auth.conftest import field_violations
from tests.conversation.helpers import ALICE, BOB, SCRIPTS, Stub, say, start, walk_to
from tests.support.clock import Clock

S = pb.ConversationState
BASE = loader.load(Path(__file__).resolve().parents[2] / "data" / "knowledge")
ALL_STATES = [v for v in S.values() if v not in (pb.CONVERSATION_STATE_UNSPECIFIED, pb.CONVERSATION_STATE_GREETING)]


async def test_unary_start_greets_with_two_messages(conversations: Stub) -> None:
    response = await conversations.StartConversation(pb.StartConversationRequest(), metadata=ALICE)
    assert len(response.conversation_id) == 43
    assert [m.kind for m in response.messages] == [pb.MESSAGE_KIND_GREETING, pb.MESSAGE_KIND_QUESTION]
    assert "Wuff" in response.messages[0].text


@pytest.mark.both_databases
@pytest.mark.parametrize("language", ["de", "en"])
async def test_unary_full_walk_through_every_state(
    conversations: Stub, conv_server: RunningServer, language: str
) -> None:
    s = SCRIPTS[language]
    cid = await start(conversations, language)
    # WAIT_FOR_SYMPTOM: too short -> re-ask; unrecognizable -> re-ask; a real description -> confirmation.
    assert (await say(conversations, cid, "hmm")).state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    off = await say(conversations, cid, "Wie wird das Wetter morgen in Hamburg?")  # a question: a kind answer
    assert off.state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM and off.messages[0].kind == pb.MESSAGE_KIND_ANSWER
    matched = await say(conversations, cid, s["symptom"])
    assert matched.state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION
    assert BASE.behaviors["leinenziehen"].text(language).title in matched.messages[0].text  # what the dog understood
    # WAIT_FOR_CONFIRMATION: unclear -> re-ask; no -> back to symptom; yes -> context.
    assert (await say(conversations, cid, s["unclear"])).state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION
    assert (await say(conversations, cid, s["no"])).state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    await say(conversations, cid, s["symptom"])
    assert (await say(conversations, cid, s["yes"])).state == pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT
    explained = await say(conversations, cid, s["context"])
    assert explained.state == pb.CONVERSATION_STATE_ASK_FOR_EXERCISE
    texts = " ".join(m.text for m in explained.messages)
    assert ("Jagdinstinkt" if language == "de" else "hunting instinct") in texts  # beagle + field + deer
    laufhunde = next(g for g in BASE.breed_groups if g.id == "laufhunde")
    assert laufhunde.notes[language] in texts  # a beagle: the scent hounds' note, their disposition leads
    # ASK_FOR_EXERCISE: unclear -> re-ask; yes -> exercise -> END_OR_RESTART.
    assert (await say(conversations, cid, s["unclear"])).state == pb.CONVERSATION_STATE_ASK_FOR_EXERCISE
    exercise = await say(conversations, cid, s["yes"])
    assert exercise.state == pb.CONVERSATION_STATE_END_OR_RESTART
    assert any(m.kind == pb.MESSAGE_KIND_INSTRUCTION for m in exercise.messages)
    # END_OR_RESTART: unclear -> re-ask; yes -> symptom; then the no-path into feedback.
    assert (await say(conversations, cid, s["unclear"])).state == pb.CONVERSATION_STATE_END_OR_RESTART
    assert (await say(conversations, cid, s["yes"])).state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    await say(conversations, cid, s["symptom"])
    await say(conversations, cid, s["yes"])
    await say(conversations, cid, s["context"])
    q1 = await say(conversations, cid, s["no"])  # ASK_FOR_EXERCISE: no -> FEEDBACK_Q1
    assert q1.state == pb.CONVERSATION_STATE_FEEDBACK_Q1 and q1.messages[0].sender == pb.SENDER_COMPANION
    assert (await say(conversations, cid, "ja")).state == pb.CONVERSATION_STATE_FEEDBACK_Q2
    assert (await say(conversations, cid, "sehr schön")).state == pb.CONVERSATION_STATE_FEEDBACK_Q3
    assert (await say(conversations, cid, "passt gut")).state == pb.CONVERSATION_STATE_FEEDBACK_Q4
    for bad in ("elf", "11", "-1", "7.5"):
        assert (await say(conversations, cid, bad)).state == pb.CONVERSATION_STATE_FEEDBACK_Q4
    assert (await say(conversations, cid, "8")).state == pb.CONVERSATION_STATE_FEEDBACK_Q5
    thanks = await say(conversations, cid, s["contact"])
    assert thanks.state == pb.CONVERSATION_STATE_GREETING
    # GREETING: the next description starts over.
    assert (await say(conversations, cid, s["symptom"])).state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION

    async with db.session_factory(conv_server.engine)() as session:
        stored = (await session.scalars(select(Feedback).where(Feedback.conversation_id == cid))).one()
    assert (stored.helped, stored.perspective, stored.exercise_fit, stored.score) == (
        "ja",
        "sehr schön",
        "passt gut",
        8,
    )
    assert stored.contact == s["contact"] and stored.contact_delete_after is not None
    history = await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    assert s["contact"] not in " ".join(m.text for m in history.messages)  # contact lives only in feedback


async def test_unary_end_or_restart_no_leads_to_feedback(conversations: Stub) -> None:
    cid = await start(conversations)
    await walk_to(conversations, cid, pb.CONVERSATION_STATE_END_OR_RESTART)
    assert (await say(conversations, cid, "nein danke")).state == pb.CONVERSATION_STATE_FEEDBACK_Q1


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("word", ["neustart", "Von vorne!"])
async def test_unary_restart_from_every_state(conversations: Stub, state: int, word: str) -> None:
    cid = await start(conversations)
    await walk_to(conversations, cid, state)
    response = await say(conversations, cid, word)
    assert response.state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM


async def test_unary_restart_word_in_english(conversations: Stub) -> None:
    cid = await start(conversations, "en")
    await walk_to(conversations, cid, pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT, "en")
    response = await say(conversations, cid, "restart")
    assert response.state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    assert response.messages[-1].text in texts.phrasings("en", "ask_symptom")


async def test_unary_jagd_is_not_ja(conversations: Stub) -> None:
    cid = await start(conversations)
    await walk_to(conversations, cid, pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION)
    assert (await say(conversations, cid, "Jagd")).state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION


@pytest.mark.both_databases
async def test_unary_expired_conversation_is_failed_precondition(conversations: Stub, clock: Clock) -> None:
    cid = await start(conversations)
    clock.advance(29 * 60)
    await say(conversations, cid, "hallo")  # a valid message refreshes the idle expiry
    clock.advance(29 * 60)
    await say(conversations, cid, "hallo")
    clock.advance(31 * 60)
    for rpc in ("en", "de"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await conversations.SendMessage(
                pb.SendMessageRequest(conversation_id=cid, text="hallo"), metadata=(*ALICE, ("accept-language", rpc))
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert ("new one" if rpc == "en" else "neues Gespräch") in (caught.value.details() or "")
    # The history stays readable.
    history = await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    assert len(history.messages) == 6


@pytest.mark.both_databases
async def test_unary_sweeper_purges_expired_state(
    conversations: Stub, conv_server: RunningServer, clock: Clock
) -> None:
    cid = await start(conversations)
    await walk_to(conversations, cid, pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT)
    clock.advance(31 * 60)
    assert await conv_server.sweeper.sweep_once() >= 1
    history = await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    assert history.state == pb.CONVERSATION_STATE_UNSPECIFIED and len(history.messages) == 9


@pytest.mark.both_databases
async def test_unary_other_principal_gets_not_found(conversations: Stub) -> None:
    cid = await start(conversations)
    calls = [
        conversations.SendMessage(pb.SendMessageRequest(conversation_id=cid, text="hallo du"), metadata=BOB),
        conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=BOB),
        conversations.DeleteConversation(pb.DeleteConversationRequest(conversation_id=cid), metadata=BOB),
    ]
    for pending in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pending
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await conversations.ListConversations(pb.ListConversationsRequest(), metadata=BOB)
    assert not listed.conversations
    assert (
        await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    ).messages


async def test_unary_without_principal_is_unauthenticated(conversations: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await conversations.StartConversation(pb.StartConversationRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_bad_text_is_invalid_argument_with_details(conversations: Stub) -> None:
    cid = await start(conversations)
    for text in ("\x00\x01  ", "x" * 2001):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await conversations.SendMessage(pb.SendMessageRequest(conversation_id=cid, text=text), metadata=ALICE)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(caught.value)
        assert status is not None
        bad = error_details_pb2.BadRequest()
        status.details[0].Unpack(bad)
        assert bad.field_violations[0].field == "text"
    history = await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    assert len(history.messages) == 2  # nothing stored


@pytest.mark.both_databases
async def test_stream_deltas_then_final_turn(conversations: Stub) -> None:
    cid = await start(conversations)
    events = [
        e
        async for e in conversations.StreamMessage(
            pb.StreamMessageRequest(conversation_id=cid, text=SCRIPTS["de"]["symptom"]), metadata=ALICE
        )
    ]
    assert events[-1].WhichOneof("event") == "done"
    assert all(e.WhichOneof("event") == "delta" for e in events[:-1]) and len(events) > 3
    done = events[-1].done
    assert done.state == pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION
    assert "".join(e.delta for e in events[:-1]) == "\n\n".join(m.text for m in done.messages)
    history = await conversations.GetConversation(pb.GetConversationRequest(conversation_id=cid), metadata=ALICE)
    assert [m.text for m in history.messages[-len(done.messages) :]] == [m.text for m in done.messages]


@pytest.mark.both_databases
async def test_unary_list_pages_and_delete(conversations: Stub) -> None:
    ids = [await start(conversations) for _ in range(3)]
    first = await conversations.ListConversations(pb.ListConversationsRequest(page_size=2), metadata=ALICE)
    second = await conversations.ListConversations(
        pb.ListConversationsRequest(page_size=2, page_token=first.next_page_token), metadata=ALICE
    )
    assert len(first.conversations) == 2 and len(second.conversations) == 1 and not second.next_page_token
    assert {c.conversation_id for c in [*first.conversations, *second.conversations]} == set(ids)
    await conversations.DeleteConversation(pb.DeleteConversationRequest(conversation_id=ids[0]), metadata=ALICE)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await conversations.GetConversation(pb.GetConversationRequest(conversation_id=ids[0]), metadata=ALICE)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as bad_token:
        await conversations.ListConversations(pb.ListConversationsRequest(page_token="zzz"), metadata=ALICE)
    assert bad_token.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.both_databases
async def test_unary_list_pages_stay_stable_while_the_owner_starts_conversations(
    conversations: Stub, clock: Clock
) -> None:
    """Keyset paging (AIP-158): a conversation started between two pages neither shifts an older one onto
    the next page twice nor hides one; it shows up on a fresh first page."""
    older = []
    for _ in range(4):
        older.append(await start(conversations))
        clock.advance(1)
    first = await conversations.ListConversations(pb.ListConversationsRequest(page_size=2), metadata=ALICE)
    newer = await start(conversations)
    second = await conversations.ListConversations(
        pb.ListConversationsRequest(page_size=2, page_token=first.next_page_token), metadata=ALICE
    )
    walked = [c.conversation_id for c in [*first.conversations, *second.conversations]]
    assert walked == list(reversed(older)) and not second.next_page_token
    fresh = await conversations.ListConversations(pb.ListConversationsRequest(page_size=1), metadata=ALICE)
    assert [c.conversation_id for c in fresh.conversations] == [newer]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _assert_token_refused(conversations: Stub, token: str, who: tuple[tuple[str, str], ...] = ALICE) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await conversations.ListConversations(pb.ListConversationsRequest(page_token=token), metadata=who)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, token
    assert list(field_violations(caught.value)) == ["page_token"]


@pytest.mark.both_databases
async def test_unary_list_takes_only_page_tokens_it_issued_to_the_caller(conversations: Stub) -> None:
    ids = {await start(conversations) for _ in range(3)}
    seen: list[str] = []
    tokens: list[str] = []
    token = ""
    while True:  # a normal walk, one per page
        page = await conversations.ListConversations(
            pb.ListConversationsRequest(page_size=1, page_token=token), metadata=ALICE
        )
        seen += [c.conversation_id for c in page.conversations]
        if not page.next_page_token:
            break
        token = page.next_page_token
        tokens.append(token)
    assert sorted(seen) == sorted(ids) and len(tokens) == 2
    # the attack run's token: an offset that overflowed the database's integer (INTERNAL before)
    await _assert_token_refused(conversations, base64.urlsafe_b64encode(b"o:" + b"9" * 40).decode())
    await _assert_token_refused(conversations, base64.urlsafe_b64encode(b"o:1").decode())  # the old format
    await _assert_token_refused(conversations, tokens[0], who=BOB)  # issued to Alice
    raw = base64.urlsafe_b64decode(tokens[0] + "=" * (-len(tokens[0]) % 4))
    for position in range(len(raw)):  # any flipped bit, in the offset or the signature
        flipped = raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]
        await _assert_token_refused(conversations, _b64(flipped))
    await _assert_token_refused(conversations, tokens[0] + "A")  # longer
    await _assert_token_refused(conversations, tokens[0][:-1])  # shorter
