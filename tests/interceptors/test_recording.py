"""`Recording` (interceptors/base.py) hands its step one `Outcome` per call, however the call ends.

Audit, metrics and tracing all build on it; these cases pin down the status, duration and exception
they see: a response, an abort (the status from the context), an unexpected exception (UNKNOWN, or
INTERNAL once error scrubbing ran inside), a call the client cancelled, a stream grpc closed early.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from interceptors.base import Context, Outcome, Recording, RpcInfo
from interceptors.context import ContextInterceptor
from interceptors.errors import ErrorScrubbingInterceptor
from tests.support.echo import echo_server

SERVICE = "test.Recorded"


class Outcomes(Recording[RpcInfo]):
    """Keeps every call's method, responses counted and outcome; `ended` is set at each end."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: list[tuple[str, int, Outcome]] = []
        self.responses: dict[RpcInfo, int] = {}
        self.ended_event = asyncio.Event()

    def begin(self, info: RpcInfo, context: Context) -> RpcInfo:
        self.responses[info] = 0
        return info

    def responded(self, record: RpcInfo) -> None:
        self.responses[record] += 1

    def end(self, record: RpcInfo, outcome: Outcome) -> None:
        self.ended.append((record.method, self.responses[record], outcome))
        self.ended_event.set()

    async def next_end(self) -> Outcome:
        await asyncio.wait_for(self.ended_event.wait(), 10)
        self.ended_event.clear()
        return self.ended[-1][2]


started = asyncio.Event()


async def _abort(request: bytes, context: Context) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "gone")
    raise AssertionError("abort returned")


async def _hang(request: bytes, context: Context) -> bytes:
    started.set()
    await asyncio.Event().wait()
    raise AssertionError("woke up")


async def _endless(request: bytes, context: Context) -> AsyncIterator[bytes]:
    n = 0
    while True:
        yield str(n).encode()
        n += 1
        await asyncio.sleep(0.01)


def _handlers() -> grpc.GenericRpcHandler[Any, Any]:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Abort": grpc.unary_unary_rpc_method_handler(_abort),
            "Hang": grpc.unary_unary_rpc_method_handler(_hang),
            "Endless": grpc.unary_stream_rpc_method_handler(_endless),
        },
    )


async def test_unary_ok() -> None:
    recorded = Outcomes()
    async with echo_server([ContextInterceptor(), recorded]) as channel:
        await channel.unary_unary("/test.Echo/Unary")(b"hi")
    [(method, responses, outcome)] = recorded.ended
    assert method == "/test.Echo/Unary" and responses == 0  # a unary response is not a streamed one
    assert outcome.code is grpc.StatusCode.OK and outcome.exception is None and outcome.duration >= 0


async def test_stream_ok_counts_each_response() -> None:
    recorded = Outcomes()
    async with echo_server([ContextInterceptor(), recorded]) as channel:
        assert len([r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"3")]) == 3
    [(_, responses, outcome)] = recorded.ended
    assert responses == 3 and outcome.code is grpc.StatusCode.OK and outcome.exception is None


async def test_unary_abort_takes_the_status_from_the_context() -> None:
    recorded = Outcomes()
    async with echo_server([ContextInterceptor(), recorded], handlers=[_handlers()]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary(f"/{SERVICE}/Abort")(b"")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    [(_, _, outcome)] = recorded.ended
    assert outcome.code is grpc.StatusCode.NOT_FOUND and isinstance(outcome.exception, grpc.aio.AbortError)


@pytest.mark.parametrize(
    ("scrubbed", "expected"),
    [(False, grpc.StatusCode.UNKNOWN), (True, grpc.StatusCode.INTERNAL)],
    ids=["raw", "scrubbed"],
)
async def test_unary_unexpected_exception(scrubbed: bool, expected: grpc.StatusCode) -> None:
    recorded = Outcomes()
    steps = [ContextInterceptor(), recorded, *([ErrorScrubbingInterceptor()] if scrubbed else [])]
    async with echo_server(steps) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Echo/Unary")(b"boom")
    assert err.value.code() == expected
    [(_, _, outcome)] = recorded.ended
    assert outcome.code is expected
    assert isinstance(outcome.exception, grpc.aio.AbortError if scrubbed else KeyError)


@pytest.mark.parametrize("scrubbed", [False, True], ids=["raw", "scrubbed"])
async def test_stream_failing_mid_way(scrubbed: bool) -> None:
    recorded = Outcomes()
    steps = [ContextInterceptor(), recorded, *([ErrorScrubbingInterceptor()] if scrubbed else [])]
    async with echo_server(steps) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            _ = [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"2!")]
    [(_, responses, outcome)] = recorded.ended
    assert responses == 2
    assert outcome.code is (grpc.StatusCode.INTERNAL if scrubbed else grpc.StatusCode.UNKNOWN)


async def test_unary_cancelled_by_the_client() -> None:
    recorded = Outcomes()
    started.clear()
    async with echo_server([ContextInterceptor(), recorded], handlers=[_handlers()]) as channel:
        call = channel.unary_unary(f"/{SERVICE}/Hang")(b"")
        await asyncio.wait_for(started.wait(), 10)
        call.cancel()
        outcome = await recorded.next_end()
    assert outcome.code is grpc.StatusCode.CANCELLED
    assert isinstance(outcome.exception, asyncio.CancelledError)


async def test_stream_cancelled_by_the_client_mid_way() -> None:
    recorded = Outcomes()
    async with echo_server([ContextInterceptor(), recorded], handlers=[_handlers()]) as channel:
        call = channel.unary_stream(f"/{SERVICE}/Endless")(b"")
        assert await call.read() == b"0"
        call.cancel()
        outcome = await recorded.next_end()
    assert outcome.code is grpc.StatusCode.CANCELLED
    assert isinstance(outcome.exception, asyncio.CancelledError | GeneratorExit)


class _Context:
    """The part of a servicer context `Recording` reads: no code set."""

    def code(self) -> None:
        return None


async def test_stream_closed_by_grpc_after_the_first_response() -> None:
    """grpc closes the response generator (GeneratorExit) when it stops reading: CANCELLED, recorded once."""
    recorded = Outcomes()

    async def responses(request: Any, context: Any) -> AsyncIterator[bytes]:
        for item in (b"a", b"b", b"c"):
            yield item

    info = RpcInfo("/test.Echo/ServerStream", False, True)
    stream = recorded.stream(info, b"", _Context(), responses)  # type: ignore[arg-type]
    assert await anext(stream) == b"a"
    await stream.aclose()
    [(_, count, outcome)] = recorded.ended
    assert count == 1 and outcome.code is grpc.StatusCode.CANCELLED
    assert isinstance(outcome.exception, GeneratorExit)
