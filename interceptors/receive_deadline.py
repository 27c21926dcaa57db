"""A deadline for receiving the request message, and a cap on calls still waiting for theirs.

grpc reads a unary request in full before any interceptor or handler sees it, and waits for it as
long as the client's own deadline allows: forever when the client sets none. A client that sends
HEADERS and part of a message holds the call, its buffers and a stream slot for as long as it keeps
the connection open. This interceptor, outermost (app.py registers it before the chain), serves
every unary-request method as a request-streaming one that reads the single message and the client's
end of stream (they come together from any gRPC client) within `timeout` seconds, then runs the
original behaviour unchanged. Past the deadline the call ends with DEADLINE_EXCEEDED and its memory
is freed. (Reading the end matters: a request iterator left suspended keeps its call alive until the
garbage collector runs, and grpc core counts such a call's stream against the per-connection limit,
so busy connections would see REFUSED_STREAM.) At most `max_waiting` calls may be waiting for their
message at once, server-wide; a call beyond that is answered RESOURCE_EXHAUSTED at once. (grpc.aio's
own `maximum_concurrent_rpcs` does not bound them: set to 1,000 it let 3,000 of 5,000 half-sent calls
run at once, and in a second flood refused none.) Streaming-request methods (reflection) are left as they are: their
messages come at the client's pace by design.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from rpc import errors

from .base import Context, HandlerCallDetails, ServerInterceptor, as_async_iter

if TYPE_CHECKING:  # grpc-stubs make the class generic; at run time it is not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler

Receive = Callable[[AsyncIterator[Any], Context], Awaitable[Any]]

# message keys of server/errors.py (the ErrorInfo reason is the key in upper case)
NOT_RECEIVED = "request_timeout"  # DEADLINE_EXCEEDED
MALFORMED = "invalid_argument"  # no request message, or more than one
TOO_MANY_WAITING = "server_busy"  # RESOURCE_EXHAUSTED


def with_receive(handler: Handler, receive: Receive) -> Handler:
    """`handler` taking its unary request from `receive` (unchanged if it streams requests)."""
    if handler.request_streaming:
        return handler
    codec = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.response_streaming:
        inner_stream = cast(Any, handler.unary_stream)

        async def stream_behavior(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
            request = await receive(requests, context)
            async for response in as_async_iter(inner_stream(request, context)):
                yield response

        return grpc.stream_stream_rpc_method_handler(stream_behavior, **codec)
    inner_unary = cast(Any, handler.unary_unary)

    async def unary_behavior(requests: AsyncIterator[Any], context: Context) -> Any:
        return await inner_unary(await receive(requests, context), context)

    return grpc.stream_unary_rpc_method_handler(unary_behavior, **codec)


async def _end_of(requests: AsyncIterator[Any], context: Context) -> None:
    """Read the client's end of the request stream (it comes with the message): a request iterator left
    suspended keeps its call, and grpc core counts the call's stream against the per-connection limit
    until it is collected."""
    try:
        await anext(requests)
    except StopAsyncIteration:
        return
    await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, MALFORMED)


class ReceiveDeadline(ServerInterceptor):
    """Every unary-request call delivers its message within `timeout` seconds; at most `max_waiting`
    calls wait for theirs at once."""

    _CACHE_LIMIT = 4096  # distinct handlers; a server has a few dozen

    def __init__(self, timeout: float, *, max_waiting: int = 1000) -> None:
        self.timeout = timeout
        self.max_waiting = max_waiting
        self.waiting = 0
        self._wrapped: dict[Handler, Handler] = {}

    async def receive(self, requests: AsyncIterator[Any], context: Context) -> Any:
        """The one request message of a unary call.

        Raises (through `rpc.errors.abort`, localized, with ErrorInfo):
            RESOURCE_EXHAUSTED: `max_waiting` calls are already waiting for their message.
            DEADLINE_EXCEEDED: the message and the end of the stream did not arrive within `timeout` seconds.
            INVALID_ARGUMENT: the client ended its side without sending one, or sent more than one.
        """
        if self.waiting >= self.max_waiting:
            await errors.abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, TOO_MANY_WAITING)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.timeout):  # no task per call, unlike wait_for
                request = await anext(requests)
                await _end_of(requests, context)
            return request
        except TimeoutError:
            await errors.abort(context, grpc.StatusCode.DEADLINE_EXCEEDED, NOT_RECEIVED)
        except StopAsyncIteration:
            await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, MALFORMED)
        finally:
            self.waiting -= 1

    async def intercept_service(  # type: ignore[override]  # grpc-stubs forget the None of unknown methods
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        wrapped = self._wrapped.get(handler)
        if wrapped is None:
            wrapped = with_receive(handler, self.receive)
            if len(self._wrapped) < self._CACHE_LIMIT:
                self._wrapped[handler] = wrapped
        return wrapped
