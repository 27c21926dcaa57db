"""A tiny service with all four RPC kinds (raw bytes), and `echo_server`: a bare grpc.aio server for
the interceptor unit tests.

`echo_server` is deliberately not the WuffChat server (tests/support/servers.py): a unit test of one
interceptor runs exactly the steps it names, with no storage, areas or other steps of the chain in the
way (grpcio-testing cannot drive grpc.aio server interceptors, so it is a real port all the same). The
steps are registered as server/app.py registers them, each a grpc.aio interceptor in the given order,
so what is tested alone is what runs in production. Tests of the whole chain as the server assembles it use
`servers`; the echo service rides along there as an extra handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import grpc

from rpc import call

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE = "test.Echo"


async def unary(request: bytes, context: Context) -> bytes:
    if request == b"boom":
        raise KeyError("/secret/path")
    state = call.current()
    return f"{request.decode()}|{state.client_ip}|{state.language}|{state.request_id}".encode()


async def server_stream(request: bytes, context: Context) -> AsyncIterator[bytes]:
    count = int(request.decode().rstrip("!") or "3")
    for i in range(count):
        yield f"{i}".encode()
    if request.endswith(b"!"):
        raise KeyError("/secret/path")


async def server_stream_writes(request: bytes, context: Context) -> None:
    """A stream handler in the style of health Watch: context.write instead of yield."""
    for i in range(3):
        await context.write(f"w{i}".encode())


async def client_stream(requests: AsyncIterator[bytes], context: Context) -> bytes:
    return b"+".join([r async for r in requests])


async def bidi(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request.upper()


def handler() -> grpc.GenericRpcHandler[Any, Any]:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ServerStreamWrites": grpc.unary_stream_rpc_method_handler(server_stream_writes),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        },
    )


@asynccontextmanager
async def echo_server(
    interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]],
    *,
    handlers: Sequence[grpc.GenericRpcHandler[Any, Any]] = (),
    register: Sequence[Callable[[grpc.aio.Server], None]] = (),
    server_options: Sequence[tuple[str, Any]] = (),
    channel_options: Sequence[tuple[str, Any]] = (),
) -> AsyncIterator[grpc.aio.Channel]:
    """Serve the echo service, `handlers` and what `register` adds (generated `add_*_to_server`) through
    exactly `interceptors` (outermost first, as grpc.aio runs them) on a free port; yield a channel to it."""
    server = grpc.aio.server(interceptors=list(interceptors), options=list(server_options))
    server.add_generic_rpc_handlers((handler(), *handlers))
    for add in register:
        add(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=channel_options) as channel:
            yield channel
    finally:
        await server.stop(0)
        await asyncio.sleep(0)
