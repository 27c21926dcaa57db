"""The chain's steps as ONE grpc.aio interceptor: one `intercept_service` per call instead of one per step.

grpc.aio awaits every registered interceptor's `intercept_service` on every call, and each step
wrapped separately adds its own layer of coroutines. `Chain` instead resolves, once per method,
a single handler in which the steps that apply to the method are nested in their order (outermost
first), and runs the checks of neighbouring `Gate` steps in a row inside one layer. The order and
the per-method selection stay those of the step list (chain.py); each step still works on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from rpc import call

from .base import Check, Context, HandlerCallDetails, Interceptor, RpcInfo, ServerInterceptor, as_async_iter

if TYPE_CHECKING:  # grpc-stubs make the class generic; at run time it is not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


def _gated(handler: Handler, info: RpcInfo, checks: Sequence[Check]) -> Handler:
    """`handler` preceded by `checks`, run in order (any may end the call)."""
    codec = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    checks = tuple(checks)
    if not handler.response_streaming:
        inner_unary = cast(Any, handler.unary_unary or handler.stream_unary)

        async def unary_behavior(request: Any, context: Context) -> Any:
            for check in checks:
                pending = check(info, request, context)
                if pending is not None:
                    await pending
            return await inner_unary(request, context)

        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(unary_behavior, **codec)
        return grpc.unary_unary_rpc_method_handler(unary_behavior, **codec)

    inner_stream = cast(Any, handler.unary_stream or handler.stream_stream)

    async def stream_behavior(request: Any, context: Context) -> AsyncIterator[Any]:
        for check in checks:
            pending = check(info, request, context)
            if pending is not None:
                await pending
        async for response in as_async_iter(inner_stream(request, context)):
            yield response

    if handler.request_streaming:
        return grpc.stream_stream_rpc_method_handler(stream_behavior, **codec)
    return grpc.unary_stream_rpc_method_handler(stream_behavior, **codec)


class Chain(ServerInterceptor):
    """`steps` (outermost first) composed into one interceptor; see the module docstring."""

    _CACHE_LIMIT = 4096  # distinct (method, handler) pairs; a server has a few dozen

    def __init__(self, steps: Sequence[Interceptor]) -> None:
        self.steps = tuple(steps)
        self._composed: dict[tuple[str, Handler], Handler] = {}

    async def intercept_service(  # type: ignore[override]  # grpc-stubs forget the None of unknown methods
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        call.receive(handler_call_details.invocation_metadata or ())
        key = (handler_call_details.method, handler)
        composed = self._composed.get(key)
        if composed is None:
            composed = self.compose(handler, handler_call_details.method)
            if len(self._composed) < self._CACHE_LIMIT:
                self._composed[key] = composed
        return composed

    def compose(self, handler: Handler, method: str) -> Handler:
        """`handler` inside every step that applies to `method`, innermost last."""
        info = RpcInfo(method, handler.request_streaming, handler.response_streaming)
        checks: list[Check] = []  # gates met so far walking outwards, innermost first
        for step in reversed(self.steps):
            if not step.applies(method):
                continue
            check = step.check_for(info)
            if check is not None:
                checks.append(check)
                continue
            if checks:
                handler = _gated(handler, info, checks[::-1])
                checks = []
            handler = step.wrap(handler, method)
        if checks:
            handler = _gated(handler, info, checks[::-1])
        return handler
