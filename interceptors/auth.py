"""Authentication: who calls. Sits right after the context step (chain.py) and before everything that needs a principal.

Methods that `selector.needs_principal` names require `authorization: Bearer <access JWT>` or
`x-api-key: <key>` (exactly one of them). The principal goes into the call state
(`call.current().principal`), where rate limiting, authorization and handlers read it. Every failure
(no credentials, both kinds at once, malformed, forged, expired, revoked, unknown key) ends the call
with UNAUTHENTICATED and the same message, so the answer never says which check failed.
Public methods (health, reflection, GetCaptcha, Register, Login, RefreshToken) are not wrapped at all.

A call that presents credentials is first checked against its client IP's failed-authentication
budget (auth_failures.py), before any token or key is verified: an IP over budget gets
RESOURCE_EXHAUSTED, and each failure that presented credentials counts against it. A call without
credentials costs nothing to refuse and is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from rpc import call, errors
from rpc.call import Principal

from .auth_failures import AuthFailureBudget
from .base import Context, Interceptor, RpcInfo
from .protocols import ApiKeyChecker, TokenVerifier

BEARER = "bearer "


class AuthInterceptor(Interceptor):
    """Sets `call.current().principal`, or aborts with UNAUTHENTICATED."""

    def __init__(
        self,
        tokens: TokenVerifier,
        api_keys: ApiKeyChecker,
        *,
        failures: AuthFailureBudget | None = None,
        applies: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(applies=applies)
        self._tokens = tokens
        self._api_keys = api_keys
        self._failures = failures

    async def _principal(self, authorization: list[str], api_key: list[str]) -> Principal | None:
        if len(authorization) + len(api_key) != 1:
            return None  # ambiguous
        if authorization:
            scheme, token = authorization[0][: len(BEARER)], authorization[0][len(BEARER) :]
            if scheme.lower() != BEARER:
                return None
            return await self._tokens.verify(token.strip())
        return await self._api_keys.check(api_key[0])

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        """Set the principal, or abort with UNAUTHENTICATED (RESOURCE_EXHAUSTED past the failure budget)."""
        state = call.current()
        authorization, api_key = _credentials(state.metadata)
        if not authorization and not api_key:
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        if self._failures is not None:
            await self._failures.admit(info, context)
        principal = await self._principal(authorization, api_key)
        if principal is None:
            if self._failures is not None:
                await self._failures.failed(info, context)
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        state.principal = principal


def _credentials(metadata: Sequence[tuple[str, Any]]) -> tuple[list[str], list[str]]:
    """The `authorization` and `x-api-key` values presented (text only)."""
    authorization: list[str] = []
    api_key: list[str] = []
    for key, value in metadata:
        if not isinstance(value, str):
            continue
        if key == "authorization":
            authorization.append(value)
        elif key == "x-api-key":
            api_key.append(value)
    return authorization, api_key
