"""Unknown methods and services answer UNIMPLEMENTED, never a crash."""

from __future__ import annotations

import grpc
import pytest


@pytest.mark.parametrize(
    "method",
    ["/wuffchat.auth.v1.AuthService/NoSuchMethod", "/no.such.v1.Service/Call", "/grpc.health.v1.Health/Nope"],
)
async def test_unary_unknown_method_unimplemented(channel: grpc.aio.Channel, method: str) -> None:
    call = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(b"")
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
