"""The exception hierarchy, each class raised by the real server for its status with its google.rpc details."""

from __future__ import annotations

import uuid

import grpc
import pytest
from wuffchat_client import (
    AlreadyExists,
    AsyncClient,
    ConversationExpired,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    WuffChatError,
)

from tests.clients.python.conftest import Clock, StartServer
from tests.support.auth import PASSWORD, SERVICE_KEY
from tests.support.net import free_port


async def test_unary_invalid_argument_has_field_violations(target: str) -> None:
    async with AsyncClient(target, language="en") as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.register("not-an-email", PASSWORD)
    fields = {v.field for v in caught.value.field_violations}
    assert "email" in fields
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "email" in str(caught.value)
    assert caught.value.message == "The request is invalid."  # accept-language: en


async def test_unary_invalid_argument_for_too_long_text(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        conversation = await client.start_conversation()
        with pytest.raises(InvalidArgument) as caught:
            await client.send_message(conversation.id, "x" * 2001)
    assert [v.field for v in caught.value.field_violations] == ["text"]


async def test_unary_unauthenticated_without_credentials(target: str) -> None:
    async with AsyncClient(target) as client:
        with pytest.raises(Unauthenticated) as caught:
            await client.start_conversation()
    assert caught.value.message == "Bitte melde dich an."  # German by default


async def test_unary_unauthenticated_for_a_wrong_password(target: str) -> None:
    async with AsyncClient(target) as client:
        email = f"err-{uuid.uuid4().hex[:12]}@example.org"
        await client.register(email, PASSWORD)
        with pytest.raises(Unauthenticated):
            await client.login(email, PASSWORD + "!")
        assert client.tokens is None


async def test_unary_already_exists_and_permission_denied(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        email = f"err-{uuid.uuid4().hex[:12]}@example.org"
        await client.register(email, PASSWORD)
        with pytest.raises(AlreadyExists):
            await client.register(email, PASSWORD)
        with pytest.raises(PermissionDenied):
            await client.export_my_data()


async def test_unary_not_found(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        with pytest.raises(NotFound):
            await client.history("A" * 43)
        with pytest.raises(NotFound):
            await client.delete_conversation("B" * 43)


async def test_unary_and_stream_conversation_expired(start_server: StartServer, clock: Clock) -> None:
    server = await start_server(conversation_ttl_seconds=60)
    async with AsyncClient(f"127.0.0.1:{server.port}", api_key=SERVICE_KEY) as client:
        conversation = await client.start_conversation()
        clock.advance(61)
        with pytest.raises(ConversationExpired) as caught:
            await client.send_message(conversation.id, "Mein Hund zieht an der Leine, immer und überall.")
        assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(ConversationExpired):
            await client.stream_message(conversation.id, "Mein Hund bellt den Postboten an.").collect()
        assert (await client.history(conversation.id)).id == conversation.id  # history stays readable


async def test_unary_rate_limited_with_retry_after(start_server: StartServer) -> None:
    server = await start_server(rate_limits=(("StartConversation", "2/minute"), ("default", "100000/minute")))
    async with AsyncClient(f"127.0.0.1:{server.port}", api_key=SERVICE_KEY, language="en") as client:
        await client.start_conversation()
        await client.start_conversation()
        with pytest.raises(RateLimited) as caught:
            await client.start_conversation()
    error = caught.value
    assert 0 < error.retry_after <= 60
    assert (error.limit, error.remaining) == (2, 0)
    assert error.quota_violations and "StartConversation" in error.quota_violations[0].description
    assert str(round(error.retry_after)) in error.message


async def test_stream_rate_limited(start_server: StartServer) -> None:
    server = await start_server(rate_limits=(("StreamMessage", "1/minute"), ("default", "100000/minute")))
    async with AsyncClient(f"127.0.0.1:{server.port}", api_key=SERVICE_KEY) as client:
        conversation = await client.start_conversation()
        await client.stream_message(conversation.id, "Mein Hund zieht an der Leine.").collect()
        with pytest.raises(RateLimited):
            await client.stream_message(conversation.id, "ja").collect()


async def test_unary_unavailable_when_nothing_listens() -> None:
    async with AsyncClient(f"127.0.0.1:{free_port()}", timeout=3) as client:
        with pytest.raises(Unavailable) as caught:
            await client.health()
    assert isinstance(caught.value, WuffChatError)
