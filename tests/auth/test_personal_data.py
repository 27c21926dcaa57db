"""ExportMyData and DeleteAccount on a real port (GDPR Art. 15, 17, 20).

Conversations are written straight into the database here, because the conversation service is
built elsewhere; export and erasure must cover whatever the tables hold for the user.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.app import RunningServer
from server.storage.db import session_factory
from server.storage.models import (
    AuditEvent,
    Conversation,
    Feedback,
    Message,
    RefreshToken,
    RefreshTokenFamily,
    User,
)
from tests.auth.conftest import field_violations
from tests.support.auth import PASSWORD, bearer, login, signed_up


async def add_conversation(running: RunningServer, user_id: str, text: str) -> str:
    now = datetime.now(UTC)
    conversation_id = f"conv-{user_id[:8]}-{len(text)}"
    async with session_factory(running.engine)() as session, session.begin():
        session.add(
            Conversation(
                id=conversation_id,
                owner_id=f"user:{user_id}",
                user_id=user_id,
                language="de",
                state=2,
                context={},
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(minutes=30),
            )
        )
        await session.flush()
        session.add(Message(conversation_id=conversation_id, seq=1, sender=3, kind=3, text=text, created_at=now))
        session.add(Feedback(conversation_id=conversation_id, score=9, contact="me@example.org", created_at=now))
    return conversation_id


async def count(running: RunningServer, model: type, *where: object) -> int:
    async with session_factory(running.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


@pytest.mark.both_databases
async def test_unary_export_holds_everything_and_no_secrets(
    server: RunningServer, channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    tokens = await signed_up(channel, "exporter@example.org")
    profile = await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(tokens.access_token))
    await add_conversation(server, profile.user_id, "Mein Hund bellt den Postboten an.")
    other = await signed_up(channel, "neighbour@example.org")
    other_profile = await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(other.access_token))
    await add_conversation(server, other_profile.user_id, "Fremde Unterhaltung")

    reply = await stub.ExportMyData(pb.ExportMyDataRequest(), metadata=bearer(tokens.access_token))
    data = json.loads(reply.json)
    assert data["profile"]["email"] == "exporter@example.org"
    assert data["profile"]["user_id"] == profile.user_id
    [conversation] = data["conversations"]
    assert conversation["messages"][0]["text"] == "Mein Hund bellt den Postboten an."
    assert data["export_version"] == 2
    assert conversation["state"] == "WAIT_FOR_SYMPTOM"  # names, not the stored numbers (state=2, sender=3, kind=3)
    assert (conversation["messages"][0]["sender"], conversation["messages"][0]["kind"]) == ("USER", "ANSWER")
    assert conversation["feedback"][0]["score"] == 9
    assert len(data["sessions"]) == 1
    assert {"user_created", "authn_login_success", "session_created"} <= {e["event"] for e in data["audit_events"]}
    assert "Fremde Unterhaltung" not in reply.json and "neighbour" not in reply.json
    assert "argon2" not in reply.json and tokens.refresh_token not in reply.json


@pytest.mark.both_databases
async def test_unary_delete_account_erases_rows_and_keeps_pseudonymous_audit(
    server: RunningServer, channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    tokens = await signed_up(channel, "leaving@example.org")
    second_session = await login(channel, "leaving@example.org")
    user_id = (await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(tokens.access_token))).user_id
    conversation_id = await add_conversation(server, user_id, "Er zieht an der Leine.")
    other = await signed_up(channel, "staying@example.org")
    other_id = (await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(other.access_token))).user_id
    await add_conversation(server, other_id, "Bleibt.")

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.DeleteAccount(pb.DeleteAccountRequest(password="wrong one"), metadata=bearer(tokens.access_token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(err.value)) == ["password"]
    assert await count(server, User, User.id == user_id) == 1

    await stub.DeleteAccount(pb.DeleteAccountRequest(password=PASSWORD), metadata=bearer(tokens.access_token))

    assert await count(server, User, User.id == user_id) == 0
    assert await count(server, Conversation, Conversation.user_id == user_id) == 0
    assert await count(server, Message, Message.conversation_id == conversation_id) == 0
    assert await count(server, Feedback, Feedback.conversation_id == conversation_id) == 0
    assert await count(server, RefreshTokenFamily, RefreshTokenFamily.user_id == user_id) == 0
    assert await count(server, RefreshToken) == 1  # the other user's
    assert await count(server, Conversation, Conversation.user_id == other_id) == 1
    for pair in (tokens, second_session):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(pair.access_token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await login(channel, "leaving@example.org")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async with session_factory(server.engine)() as session:
        [deleted] = list(await session.scalars(select(AuditEvent).where(AuditEvent.event == "user_deleted")))
        everything = repr([(e.principal, e.details) for e in await session.scalars(select(AuditEvent))])
    assert deleted.principal == f"user:{user_id}"
    assert "leaving@example.org" not in everything
