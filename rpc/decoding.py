"""Request bodies that are not valid protobuf go through the interceptor chain like any other bad input.

grpc deserializes a request before any interceptor runs. A deserializer that raises ends the call
inside grpc: UNKNOWN with a message naming the exception and the message type, a bare traceback in
the log, and no audit line, no rate limiting. So our services are registered (`add_servicer`) with
request deserializers that never raise: a body protobuf cannot decode (invalid UTF-8 in a string,
truncated length, wrong wire type, field number 0) becomes `UNDECODABLE`, and the validation step
(interceptors/validation.py) ends the call with INVALID_ARGUMENT; context, audit and rate limiting
have run for it as for any call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import grpc
from google.protobuf.message import DecodeError

if TYPE_CHECKING:  # grpc-stubs make the classes generic; at run time they are not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    GenericHandler: TypeAlias = grpc.GenericRpcHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    GenericHandler = grpc.GenericRpcHandler

Servicer = TypeVar("Servicer")
Deserializer = Callable[[bytes], Any]


class Undecodable:
    """The request of a call whose body did not decode; never reaches a handler."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDECODABLE"


UNDECODABLE: Final = Undecodable()


def tolerant(deserialize: Deserializer) -> Deserializer:
    """`deserialize`, answering `UNDECODABLE` where it would raise a DecodeError."""

    def deserialize_or_mark(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError:
            return UNDECODABLE

    return deserialize_or_mark


def tolerant_handler(handler: Handler) -> Handler:
    """`handler` with its request deserializer made `tolerant` (unchanged when it has none)."""
    if handler.request_deserializer is None:
        return handler
    codec: dict[str, Any] = {
        "request_deserializer": tolerant(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(handler.unary_unary, **codec)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(handler.unary_stream, **codec)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(handler.stream_unary, **codec)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(handler.stream_stream, **codec)


class _TolerantGenericHandler(GenericHandler):
    """`inner`'s method handlers, made tolerant once each (so callers may cache them by identity)."""

    def __init__(self, inner: GenericHandler) -> None:
        self._inner = inner
        self._tolerant: dict[Handler, Handler] = {}  # at most one entry per method of the service

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        found = self._tolerant.get(handler)
        if found is None:
            found = self._tolerant[handler] = tolerant_handler(handler)
        return found


class _TolerantRegistry:
    """Stands in for the server while a generated `add_*Servicer_to_server` registers its handlers."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: tuple[GenericHandler, ...]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_TolerantGenericHandler(h) for h in handlers))

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Handler]) -> None:
        tolerant_handlers = {name: tolerant_handler(handler) for name, handler in handlers.items()}
        # a no-op in grpc.aio today; forwarded tolerant, so it stays right once grpc.aio uses it
        self._server.add_registered_method_handlers(service, tolerant_handlers)  # type: ignore[attr-defined]  # grpc-stubs predate it


def add_servicer(server: grpc.aio.Server, add: Callable[[Servicer, Any], None], servicer: Servicer) -> None:
    """Register `servicer` with a generated `add` (`add_*Servicer_to_server`), deserializers tolerant."""
    add(servicer, _TolerantRegistry(server))
