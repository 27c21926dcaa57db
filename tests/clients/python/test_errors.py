"""The exception hierarchy, each class raised by the real server for its status with its google.rpc details."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import status_pb2
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
from wuffchat_client.errors import from_rpc_error

from tests.conftest import StartServer
from tests.support.auth import PASSWORD, SERVICE_KEY, rate_limits
from tests.support.clock import Clock
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
    assert caught.value.reason == "INVALID_ARGUMENT"


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
    assert caught.value.reason == "UNAUTHENTICATED"


async def test_unary_unauthenticated_for_a_wrong_password(target: str) -> None:
    async with AsyncClient(target) as client:
        email = f"err-{uuid.uuid4().hex[:12]}@example.org"
        await client.register(email, PASSWORD)
        with pytest.raises(Unauthenticated) as caught:
            await client.login(email, PASSWORD + "!")
        assert caught.value.reason == "LOGIN_FAILED"
        assert client.tokens is None


async def test_unary_already_exists_and_permission_denied(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        email = f"err-{uuid.uuid4().hex[:12]}@example.org"
        await client.register(email, PASSWORD)
        with pytest.raises(AlreadyExists) as exists:
            await client.register(email, PASSWORD)
        with pytest.raises(PermissionDenied) as denied:
            await client.export_my_data()
    assert (exists.value.reason, denied.value.reason) == ("EMAIL_TAKEN", "USERS_ONLY")


async def test_unary_not_found(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        with pytest.raises(NotFound) as caught:
            await client.history("A" * 43)
        assert caught.value.reason == "CONVERSATION_NOT_FOUND"
        with pytest.raises(NotFound):
            await client.delete_conversation("B" * 43)


async def test_unary_and_stream_conversation_expired(start_server: StartServer, clock: Clock) -> None:
    server = await start_server(CONVERSATION_TTL_SECONDS=60)
    async with AsyncClient(f"127.0.0.1:{server.port}", api_key=SERVICE_KEY) as client:
        conversation = await client.start_conversation()
        clock.advance(61)
        with pytest.raises(ConversationExpired) as caught:
            await client.send_message(conversation.id, "Mein Hund zieht an der Leine, immer und überall.")
        assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONVERSATION_EXPIRED")
        with pytest.raises(ConversationExpired):
            await client.stream_message(conversation.id, "Mein Hund bellt den Postboten an.").collect()
        assert (await client.history(conversation.id)).id == conversation.id  # history stays readable


async def test_unary_rate_limited_with_retry_after(start_server: StartServer) -> None:
    server = await start_server(RATE_LIMITS=rate_limits("100000/minute", StartConversation="2/minute"))
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
    assert error.reason == "RATE_LIMITED"


async def test_stream_rate_limited(start_server: StartServer) -> None:
    server = await start_server(RATE_LIMITS=rate_limits("100000/minute", StreamMessage="1/minute"))
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


def rpc_error(code: grpc.StatusCode, message: str, *trailers: tuple[str, str | bytes]) -> grpc.aio.AioRpcError:
    """A failed call as grpc.aio reports it (for the statuses the real server cannot be made to send)."""
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details=message)


def test_other_statuses_map_to_the_base_or_unavailable() -> None:
    internal = from_rpc_error(rpc_error(grpc.StatusCode.INTERNAL, "Referenz: abc", ("x-request-id", "abc")))
    assert type(internal) is WuffChatError and internal.request_id == "abc" and str(internal) == "Referenz: abc"
    assert isinstance(from_rpc_error(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "")), Unavailable)


def test_the_reason_decides_over_the_code() -> None:
    """A precondition other than expiry is no ConversationExpired; the ErrorInfo reason says which it is."""
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2

    def failed(reason: str) -> grpc.aio.AioRpcError:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="wuffchat"))
        status = status_pb2.Status(code=grpc.StatusCode.FAILED_PRECONDITION.value[0], message="m", details=[info])
        return rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION, "m", ("grpc-status-details-bin", status.SerializeToString())
        )

    expired = from_rpc_error(failed("CONVERSATION_EXPIRED"))
    other = from_rpc_error(failed("SOMETHING_ELSE"))
    assert isinstance(expired, ConversationExpired) and expired.reason == "CONVERSATION_EXPIRED"
    assert type(other) is WuffChatError and other.reason == "SOMETHING_ELSE"


def test_rate_limit_without_retry_info_uses_the_retry_after_trailer() -> None:
    error = from_rpc_error(rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", ("retry-after", "17")))
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.limit, error.remaining) == (17, None, None)


def test_inconsistent_details_are_ignored() -> None:
    status = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0], message="other")
    error = from_rpc_error(
        rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "bad", ("grpc-status-details-bin", status.SerializeToString()))
    )
    assert isinstance(error, InvalidArgument) and error.field_violations == ()
