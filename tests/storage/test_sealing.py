"""Personal data at rest, at the gRPC boundary: readable through the API, absent from the raw database,
and a value moved to another row fails clearly (DATA_LOSS) without taking the server down."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select, text, update
from sqlalchemy.exc import StatementError
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from server.app import RunningServer
from server.storage.db import session_factory
from server.storage.models import Feedback, Message, User
from tests.conftest import SettingsFactory
from tests.conversation.helpers import ALICE, BOB
from tests.support.auth import bearer, login, signed_up
from tests.support.sealed import CONTACT, CONTEXT, HELPED, SYMPTOM, owner_with_history, raw_database

EMAIL = "erika.mustermann.i18@example.org"


@pytest.mark.both_databases
async def test_unary_raw_database_holds_no_personal_string(
    server: RunningServer, channel: grpc.aio.Channel, settings_factory: SettingsFactory
) -> None:
    owner = await owner_with_history(channel, EMAIL)
    await login(channel, EMAIL)  # the blind index finds the account
    auth = auth_service_pb2_grpc.AuthServiceStub(channel)
    exported = json.loads(
        (await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=bearer(owner.access_token))).json
    )
    assert exported["profile"]["email"] == EMAIL
    [conversation] = exported["conversations"]
    said = [m["text"] for m in conversation["messages"]]
    assert SYMPTOM in said and CONTEXT in said
    [feedback] = conversation["feedback"]
    assert (feedback["helped"], feedback["contact"], feedback["score"]) == (HELPED, CONTACT, 9)
    history = await conversation_service_pb2_grpc.ConversationServiceStub(channel).GetConversation(
        pb.GetConversationRequest(conversation_id=owner.conversation_id), metadata=bearer(owner.access_token)
    )
    assert SYMPTOM in [m.text for m in history.messages]

    raw = raw_database(settings_factory().database.url)
    assert b"sealed_value" not in raw and len(raw) > 10_000, "the copy holds the data"
    for secret in (EMAIL, "erika.mustermann", SYMPTOM, "Lindenallee", CONTEXT, "Bäckerei Sommer", HELPED, CONTACT):
        assert secret.encode() not in raw, f"{secret!r} is readable in the raw database"
    bot_line = next(m.text for m in history.messages if m.sender == pb.SENDER_DOG and len(m.text) > 40)
    assert bot_line[:40].encode() not in raw, "the dog's answers describe the owner's dog: sealed too"
    assert b"wc1.1." in raw


async def test_unary_message_moved_to_another_row_is_data_loss(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
    alice = await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=ALICE)
    bob = await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=BOB)
    async with session_factory(server.engine).begin() as session:
        stolen = await session.scalar(
            text("SELECT text FROM messages WHERE conversation_id = :c AND seq = 0"), {"c": alice.conversation_id}
        )
        await session.execute(
            text("UPDATE messages SET text = :t WHERE conversation_id = :c AND seq = 0"),
            {"t": stolen, "c": bob.conversation_id},
        )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetConversation(pb.GetConversationRequest(conversation_id=bob.conversation_id), metadata=BOB)
    assert caught.value.code() == grpc.StatusCode.DATA_LOSS
    status = rpc_status.from_call(caught.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details) and info.reason == "DATA_UNREADABLE"
    message = caught.value.details() or ""
    assert "Referenz" in message and "wc1" not in message and "messages" not in message

    # nothing else is affected: Alice reads hers, Bob goes on
    mine = await stub.GetConversation(pb.GetConversationRequest(conversation_id=alice.conversation_id), metadata=ALICE)
    assert len(mine.messages) == 2
    await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=BOB)


async def test_unary_email_moved_to_another_account_is_data_loss(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    victim = await signed_up(channel, "victim@example.org")
    thief = await signed_up(channel, "thief@example.org")
    auth = auth_service_pb2_grpc.AuthServiceStub(channel)
    thief_id = (await auth.GetProfile(auth_pb.GetProfileRequest(), metadata=bearer(thief.access_token))).user_id
    victim_id = (await auth.GetProfile(auth_pb.GetProfileRequest(), metadata=bearer(victim.access_token))).user_id
    async with session_factory(server.engine).begin() as session:
        sealed = await session.scalar(text("SELECT email FROM users WHERE id = :u"), {"u": victim_id})
        await session.execute(text("UPDATE users SET email = :e WHERE id = :u"), {"e": sealed, "u": thief_id})

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=bearer(thief.access_token))
    assert caught.value.code() == grpc.StatusCode.DATA_LOSS
    assert "victim" not in (caught.value.details() or "")
    profile = await auth.GetProfile(auth_pb.GetProfileRequest(), metadata=bearer(victim.access_token))
    assert profile.email == "victim@example.org"


async def test_sealed_columns_refuse_plaintext(server: RunningServer) -> None:
    async with session_factory(server.engine)() as session:
        with pytest.raises(StatementError, match="sealed values only"):
            await session.execute(update(Message).values(text="im Klartext"))
        with pytest.raises(StatementError, match="sealed values only"):
            await session.execute(update(Feedback).values(contact="a@example.org"))
        assert (await session.scalars(select(User))).all() == []
