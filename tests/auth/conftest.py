"""Auth tests run against the real server on a real port; `serving` starts one with custom settings
(tests/conftest.py `servers`, plus a test service that answers with the caller's principal)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from wuffchat.auth.v1 import auth_service_pb2_grpc

from rpc import call
from server.app import RunningServer
from server.config import Settings
from tests.support.servers import Servers

Context = grpc.aio.ServicerContext[Any, Any]


async def whoami(request: bytes, context: Context) -> bytes:
    """A protected test method that answers with the principal the interceptor set."""
    principal = call.current().principal
    assert principal is not None
    return f"{principal.kind}|{principal.id}|{','.join(sorted(principal.roles))}".encode()


async def whoami_stream(request: bytes, context: Context) -> AsyncIterator[bytes]:
    for i in range(3):
        principal = call.current().principal
        assert principal is not None
        yield f"{i}|{principal.kind}".encode()


def whoami_handler() -> grpc.GenericRpcHandler[Any, Any]:
    return grpc.method_handlers_generic_handler(
        "test.WhoAmI",
        {
            "Unary": grpc.unary_unary_rpc_method_handler(whoami),
            "Stream": grpc.unary_stream_rpc_method_handler(whoami_stream),
        },
    )


Serving = Callable[..., AbstractAsyncContextManager[tuple[RunningServer, grpc.aio.Channel]]]


@pytest.fixture
def serving(servers: Servers) -> Serving:
    """`async with serving(settings, handlers, clock=...) as (running, channel)`: a real server (the
    test's `servers`) with `settings` (or the test settings), the WhoAmI test service and `handlers`,
    and a channel to it; `clock` (a `tests.support.clock.Clock`) is the server's time, the test's
    `clock` fixture unless given."""

    def serve(
        settings: Settings | None = None, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]] = (), **options: Any
    ) -> AbstractAsyncContextManager[tuple[RunningServer, grpc.aio.Channel]]:
        return servers.serving(settings, extra_handlers=[whoami_handler(), *handlers], **options)

    return serve


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> auth_service_pb2_grpc.AuthServiceStub:
    return auth_service_pb2_grpc.AuthServiceStub(channel)


def field_violations(err: grpc.aio.AioRpcError) -> dict[str, str]:
    """field -> description of the BadRequest detail of a failed call."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found
