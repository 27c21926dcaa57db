"""The one mechanism every interceptor uses: wrap a method handler's behaviour, for all four RPC kinds.

Every step of the chain is a plain grpc.aio `ServerInterceptor` (chain.py lists them, app.py serves
them in that order). A subclass overrides `before` (check or prepare before the call, then proceed
with the same request; it may end the call with `rpc.errors.abort`), or `unary` (unary-unary and
stream-unary: one response; an `async def`) and/or `stream` (unary-stream and stream-stream: many
responses). `request` is the request message, or the async iterator of request messages for client
streams; `proceed(request, context)` runs the rest of the call. The `applies` predicate (see
`selector.py`) decides per method whether the interceptor runs at all; chain.py passes it.

Steps that observe the whole call (audit, metrics, tracing) subclass `Recording`: it runs the rest
of the call once, for both kinds, and hands the step an `Outcome` (the status the client gets, the
duration, the exception that ended the call, if any).

Stream handlers may be async generators or coroutines that call `context.write` (as the health
service's Watch does); both are adapted so a `stream` hook always sees an async iterator.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
UnaryProceed = Callable[[Any, "Context"], Awaitable[Any]]
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
    """Base class; see the module docstring. A grpc.aio interceptor of its own."""

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

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        """Check or prepare before the call (streams: before the first response); may end the call."""

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        await self.before(info, request, context)
        return await proceed(request, context)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        await self.before(info, request, context)
        async for response in proceed(request, context):
            yield response

    async def intercept_service(  # type: ignore[override]  # grpc-stubs forget the None of unknown methods
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
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
            # grpc awaits behavior(request, context): `unary` with this method's facts bound once here
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


_BY_VALUE = {status.value[0]: status for status in grpc.StatusCode}


def final_status(context: Context, failure: BaseException | None) -> grpc.StatusCode:
    """The status the client gets: the code set on `context` (set_code, abort), else from how the call ended.

    An exception that set no code is UNKNOWN (what grpc sends for it); a cancelled task or a stream
    closed by grpc (`GeneratorExit`) is CANCELLED.
    """
    code: Any = context.code()  # None until set; a StatusCode or its int after set_code / abort
    if code is not None:
        status = code if isinstance(code, grpc.StatusCode) else _BY_VALUE.get(code, grpc.StatusCode.UNKNOWN)
        if status is not grpc.StatusCode.OK:
            return status
    if failure is None:
        return grpc.StatusCode.OK
    if isinstance(failure, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a call ended, as the client sees it."""

    code: grpc.StatusCode  # the status the client gets (final_status)
    duration: float  # seconds the rest of the call took, from just after `begin`
    exception: BaseException | None  # what ended the rest of the call; None when it returned


Record = TypeVar("Record")


class Recording(Interceptor, Generic[Record]):
    """A step that observes whole calls: `begin` before, `end` with the `Outcome` after (audit, metrics, tracing).

    `end` runs exactly once per call, however it ends: a response, an abort, an exception, a
    cancelled task, or a stream that grpc closed early. The exception is re-raised after `end`.
    """

    def begin(self, info: RpcInfo, context: Context) -> Record:
        """Before the rest of the call; what `begin` returns is handed to `requests`, `responded` and `end`."""
        raise NotImplementedError

    def requests(self, record: Record, info: RpcInfo, request: Any) -> Any:
        """The request (or the client stream's requests) to pass on; unchanged unless overridden."""
        return request

    def responded(self, record: Record) -> None:
        """One response of a server stream went out (a unary response counts as sent when the code is OK)."""

    def end(self, record: Record, outcome: Outcome) -> None:
        """After the rest of the call, however it ended (an exception raised here would replace the call's)."""
        raise NotImplementedError

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        record = self.begin(info, context)
        request = self.requests(record, info, request)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            return await proceed(request, context)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self.end(record, Outcome(final_status(context, failure), time.perf_counter() - started, failure))

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        record = self.begin(info, context)
        request = self.requests(record, info, request)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            async for response in proceed(request, context):
                self.responded(record)
                yield response
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self.end(record, Outcome(final_status(context, failure), time.perf_counter() - started, failure))
