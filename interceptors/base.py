"""The one mechanism every interceptor uses: wrap a method handler's behaviour, for all four RPC kinds.

A subclass overrides `unary` (unary-unary and stream-unary: one response; an `async def`) and/or
`stream` (unary-stream and stream-stream: many responses). `request` is the request message, or the
async iterator of request messages for client streams; `proceed(request, context)` runs the rest of
the call. The `applies` predicate (see `selector.py`) decides per method whether the interceptor runs
at all; chain.py passes it.

A step that only checks or prepares before the call and then always proceeds with the same request
subclasses `Gate` and overrides `check` instead: the composed chain (compose.py) then runs the
checks of neighbouring gates in a row rather than nesting one wrapper per step. A check is either an
`async def`, or a plain function that returns None when it is done and an awaitable only when it has
to wait (I/O, or ending the call with `rpc.errors.abort`): most calls then pass most gates
without creating a coroutine.

Stream handlers may be async generators or coroutines that call `context.write` (as the health
service's Watch does); both are adapted so a `stream` hook always sees an async iterator.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import grpc

from rpc import call

Context = grpc.aio.ServicerContext[Any, Any]
UnaryProceed = Callable[[Any, "Context"], Awaitable[Any]]
Check = Callable[["RpcInfo", Any, Context], Awaitable[None] | None]  # see the module docstring
StreamProceed = Callable[[Any, "Context"], AsyncIterator[Any]]
HandlerCallDetails = grpc.HandlerCallDetails

if TYPE_CHECKING:  # grpc-stubs make the class generic; at run time it is not subscriptable
    ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    ServerInterceptor = grpc.aio.ServerInterceptor


@dataclass(frozen=True)
class RpcInfo:
    """What an interceptor knows about the method before the call runs."""

    method: str  # "/package.Service/Method"
    client_streaming: bool
    server_streaming: bool


async def as_async_iter(result: Any) -> AsyncIterator[Any]:
    """Adapt whatever a stream behaviour returned (async iterator, iterator or coroutine) to an async iterator."""
    if inspect.isawaitable(result):
        result = await result
        if result is None:  # the handler wrote its responses with context.write
            return
    if hasattr(result, "__aiter__"):
        async for response in result:
            yield response
    else:
        for response in result:
            yield response


class Interceptor(ServerInterceptor):
    """Base class; see the module docstring. Also usable on its own as a grpc.aio interceptor."""

    _CACHE_LIMIT = 4096  # distinct (method, handler) pairs; a server has a few dozen

    def __init__(self, *, applies: Callable[[str], bool] | None = None) -> None:
        self._applies = applies or (lambda _method: True)
        # Wrapping is per method, not per call: the wrapped handler for a (method, inner handler)
        # pair is built once. Inner interceptors hand back their cached objects, so the whole
        # chain resolves a method with dictionary look-ups after its first call.
        self._wrapped: dict[tuple[str, grpc.RpcMethodHandler[Any, Any]], grpc.RpcMethodHandler[Any, Any]] = {}

    def applies(self, method: str) -> bool:
        """Whether this step runs for `method` at all."""
        return self._applies(method)

    def check_for(self, info: RpcInfo) -> Check | None:
        """A before-only hook that replaces `unary`/`stream` for this kind of RPC, or None (wrap the call)."""
        return None

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        return await proceed(request, context)

    def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        return proceed(request, context)

    async def intercept_service(  # type: ignore[override]  # grpc-stubs forget the None of unknown methods
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        call.receive(handler_call_details.invocation_metadata or ())
        method = handler_call_details.method
        key = (method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self.wrap(handler, method) if self.applies(method) else handler
            if len(self._wrapped) < self._CACHE_LIMIT:
                self._wrapped[key] = wrapped
        return wrapped

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any], method: str) -> grpc.RpcMethodHandler[Any, Any]:
        """`handler` with this step's `unary`/`stream` around it."""
        info = RpcInfo(method, handler.request_streaming, handler.response_streaming)
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if not handler.response_streaming:
            # grpc awaits behavior(request, context): that is `unary` itself, with this method's facts
            # bound once here, so a step adds no wrapper frame or closure per call
            inner_unary = cast(UnaryProceed, handler.unary_unary or handler.stream_unary)
            behavior = functools.partial(type(self).unary, self, info, proceed=inner_unary)
            if handler.request_streaming:
                return grpc.stream_unary_rpc_method_handler(behavior, **codec)
            return grpc.unary_unary_rpc_method_handler(behavior, **codec)

        inner_stream = cast(Any, handler.unary_stream or handler.stream_stream)

        def proceed(request: Any, context: Context) -> AsyncIterator[Any]:
            return as_async_iter(inner_stream(request, context))

        async def stream_behavior(request: Any, context: Context) -> AsyncIterator[Any]:
            async for response in self.stream(info, request, context, proceed):
                yield response

        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(stream_behavior, **codec)
        return grpc.unary_stream_rpc_method_handler(stream_behavior, **codec)


class Gate(Interceptor):
    """A step that checks (or prepares) before the call and then proceeds with the unchanged request.

    `check` may end the call (through `rpc.errors.abort`); streams run it before the first response.
    """

    def check(self, info: RpcInfo, request: Any, context: Context) -> Awaitable[None] | None:
        """None when done; an awaitable to await when the check has to wait (see the module docstring)."""
        raise NotImplementedError

    def check_for(self, info: RpcInfo) -> Check | None:
        return self.check

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        pending = self.check(info, request, context)
        if pending is not None:
            await pending
        return await proceed(request, context)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        pending = self.check(info, request, context)
        if pending is not None:
            await pending
        async for response in proceed(request, context):
            yield response
