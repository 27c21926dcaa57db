"""Error scrubbing on a real port: nothing internal reaches the client, deliberate statuses pass,
status details off the allow-list are dropped, an unavailable dependency (a database error wrapped at the
storage boundary) becomes UNAVAILABLE.

grpcio-testing cannot drive grpc.aio server interceptors, so each case runs on a real grpc.aio server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError

from interceptors.context import ContextInterceptor
from interceptors.errors import ErrorScrubbingInterceptor
from rpc import errors
from rpc.errors import DependencyUnavailable
from tests.support.echo import echo_server

Context = grpc.aio.ServicerContext[Any, Any]
SECRET = "/secret/path"


async def _db_error(request: bytes, context: Context) -> bytes:
    # what storage raises (server/storage/db.py): the driver's error, with SQL and parameters, as the cause
    cause = OperationalError("SELECT password_hash FROM users WHERE email = ?", ("a@b.c",), OSError("refused"))
    raise DependencyUnavailable("database") from cause


async def _abort_with(request: bytes, context: Context) -> bytes:
    detail: Any = (
        error_details_pb2.DebugInfo(detail=SECRET)
        if request == b"debug"
        else error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field="text", reason="string.max_len")]
        )
    )
    await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", detail)
    raise AssertionError("unreachable")


async def _set_code_and_return(request: bytes, context: Context) -> bytes:
    status = errors.to_status(grpc.StatusCode.FAILED_PRECONDITION, "abgelaufen")
    debug = error_details_pb2.DebugInfo(detail=SECRET)
    packed = rpc_status.status_pb2.Status(code=9, message="abgelaufen")
    packed.details.add().Pack(debug)
    context.set_code(status.code)
    context.set_details(status.details)
    context.set_trailing_metadata(((errors.DETAILS_KEY, packed.SerializeToString()),))
    return b""


async def _bidi_fails_after_two(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
    count = 0
    async for request in requests:
        yield request
        count += 1
        if count == 2:
            raise RuntimeError(SECRET)


def _extra() -> grpc.GenericRpcHandler[Any, Any]:
    return grpc.method_handlers_generic_handler(
        "test.Faults",
        {
            "Db": grpc.unary_unary_rpc_method_handler(_db_error),
            "Abort": grpc.unary_unary_rpc_method_handler(_abort_with),
            "SetCode": grpc.unary_unary_rpc_method_handler(_set_code_and_return),
            "Bidi": grpc.stream_stream_rpc_method_handler(_bidi_fails_after_two),
        },
    )


def _server() -> AbstractAsyncContextManager[grpc.aio.Channel]:
    return echo_server([ContextInterceptor(), ErrorScrubbingInterceptor()], handlers=[_extra()])


def _leaks(err: grpc.aio.AioRpcError, *needles: str) -> bool:
    blob = " ".join([err.details() or "", repr(err.trailing_metadata()), err.debug_error_string() or ""])
    return any(needle in blob for needle in needles)


async def test_unary_key_error_becomes_internal_with_reference_and_no_trace() -> None:
    async with echo_server([ContextInterceptor(), ErrorScrubbingInterceptor()]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Echo/Unary")(b"boom", metadata=(("x-request-id", "req-boom-0001"),))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert err.value.details() == "Da ist etwas schiefgelaufen. Referenz: req-boom-0001"
    assert not _leaks(err.value, "secret", "KeyError", "Traceback")
    status = rpc_status.from_call(err.value)
    assert status is not None
    info = error_details_pb2.RequestInfo()
    assert status.details[0].Unpack(info) and info.request_id == "req-boom-0001"


async def test_unary_internal_message_in_english() -> None:
    async with echo_server([ContextInterceptor(), ErrorScrubbingInterceptor()]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Echo/Unary")(b"boom", metadata=(("accept-language", "en"),))
    assert err.value.details().startswith("Something went wrong. Reference: ")


async def test_stream_failing_after_three_messages_yields_three_then_internal() -> None:
    async with echo_server([ContextInterceptor(), ErrorScrubbingInterceptor()]) as channel:
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for response in channel.unary_stream("/test.Echo/ServerStream")(b"3!"):
                received.append(response)
    assert received == [b"0", b"1", b"2"]
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert not _leaks(err.value, "secret", "KeyError")


async def test_stream_bidi_failing_mid_way_becomes_internal() -> None:
    async def requests() -> AsyncIterator[bytes]:
        for item in (b"a", b"b", b"c"):
            yield item

    async with _server() as channel:
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for response in channel.stream_stream("/test.Faults/Bidi")(requests()):
                received.append(response)
    assert received == [b"a", b"b"]
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert not _leaks(err.value, "secret", "RuntimeError")


async def test_unary_database_error_becomes_unavailable_without_sql() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Faults/Db")(b"")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert err.value.details() == errors.MESSAGES["de"]["unavailable"]
    assert not _leaks(err.value, "SELECT", "password", "a@b.c", "refused")


async def test_unary_deliberate_status_keeps_allowed_details() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Faults/Abort")(b"bad")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad) and bad.field_violations[0].reason == "string.max_len"


async def test_unary_details_off_the_allow_list_are_dropped_on_abort() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Faults/Abort")(b"debug")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not _leaks(err.value, "secret")


async def test_unary_details_off_the_allow_list_are_dropped_after_set_code() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Faults/SetCode")(b"")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert errors.DETAILS_KEY not in err.value.trailing_metadata()
    assert not _leaks(err.value, "secret")


async def test_stream_health_style_writes_pass_untouched() -> None:
    async with echo_server([ContextInterceptor(), ErrorScrubbingInterceptor()]) as channel:
        responses = [r async for r in channel.unary_stream("/test.Echo/ServerStreamWrites")(b"")]
    assert responses == [b"w0", b"w1", b"w2"]
