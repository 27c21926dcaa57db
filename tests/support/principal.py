"""A test-only interceptor that sets the call's Principal from `x-test-principal: kind:id[:role,role]`.

It stands in for authentication until the auth issue merges; the lead switches the fixtures to real
API keys / JWT then. It never ships in the server: only tests add it behind the real chain.
"""

from __future__ import annotations

from typing import Any

from interceptors.base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed
from server import call
from server.call import Principal

HEADER = "x-test-principal"


def metadata(kind: str = "apikey", ident: str = "svc-a", roles: str = "service") -> tuple[tuple[str, str], ...]:
    return ((HEADER, f"{kind}:{ident}:{roles}"),)


class TestPrincipalInterceptor(Interceptor):
    """Sets `call.current().principal` when the header is present; otherwise leaves it None."""

    def _bind(self, context: Context) -> None:
        for key, value in context.invocation_metadata() or ():
            if key == HEADER and isinstance(value, str):
                kind, ident, roles = [*value.split(":"), "", "", ""][:3]
                call.current().principal = Principal(
                    id=ident, kind=kind, roles=frozenset(filter(None, roles.split(",")))
                )

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        self._bind(context)
        return await proceed(request)

    def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> Any:
        self._bind(context)
        return proceed(request)
