"""A test-only stand-in for authentication, for interceptor tests in isolation.

`PrincipalFromMetadata` plays the part of the auth interceptor: it reads
`x-test-principal: <kind>:<id>[:<role>,<role>]` and puts that `Principal` into the call state, so
principal-keyed rate limits and authorization can be tested without tokens. Never used by the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from interceptors.base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed
from rpc import call
from rpc.call import Principal

HEADER = "x-test-principal"


def principal_header(kind: str, id_: str, *roles: str) -> tuple[str, str]:
    return (HEADER, f"{kind}:{id_}:{','.join(roles)}")


class PrincipalFromMetadata(Interceptor):
    """Sets `call.current().principal` from `x-test-principal`; leaves it unset without the header."""

    def _bind(self, context: Context) -> None:
        for key, value in context.invocation_metadata() or ():
            if key == HEADER and isinstance(value, str):
                kind, id_, roles = [*value.split(":"), "", ""][:3]
                call.current().principal = Principal(id=id_, kind=kind, roles=frozenset(filter(None, roles.split(","))))

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        self._bind(context)
        return await proceed(request, context)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        self._bind(context)
        async for response in proceed(request, context):
            yield response
