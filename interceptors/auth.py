"""Authentication: who calls. Sits right after the context step (chain.py) and before everything that needs a principal.

Methods that `selector.needs_principal` names require `authorization: Bearer <access JWT>` or
`x-api-key: <key>` (exactly one of them). The principal goes into the call state
(`call.current().principal`), where rate limiting, authorization and handlers read it. Every failure
(no credentials, both kinds at once, malformed, forged, expired, revoked, unknown key) ends the call
with UNAUTHENTICATED and the same message, so the answer never says which check failed.
Public methods (health, reflection, GetCaptcha, Register, Login, RefreshToken) are not wrapped at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import grpc

from server import call, errors
from server.call import Principal

from .base import Context, Gate, RpcInfo

BEARER = "bearer "


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal | None:
        """The principal of a valid access token, else None."""


class ApiKeyChecker(Protocol):
    async def check(self, key: str) -> Principal | None:
        """The principal of a valid API key, else None."""


class AuthInterceptor(Gate):
    """Sets `call.current().principal`, or aborts with UNAUTHENTICATED."""

    def __init__(
        self, tokens: TokenVerifier, api_keys: ApiKeyChecker, *, applies: Callable[[str], bool] | None = None
    ) -> None:
        super().__init__(applies=applies)
        self._tokens = tokens
        self._api_keys = api_keys

    async def _principal(self, metadata: Sequence[tuple[str, Any]]) -> Principal | None:
        authorization: list[str] = []
        api_key: list[str] = []
        for key, value in metadata:
            if not isinstance(value, str):
                continue
            if key == "authorization":
                authorization.append(value)
            elif key == "x-api-key":
                api_key.append(value)
        if len(authorization) + len(api_key) != 1:
            return None  # none, or ambiguous
        if authorization:
            scheme, token = authorization[0][: len(BEARER)], authorization[0][len(BEARER) :]
            if scheme.lower() != BEARER:
                return None
            return await self._tokens.verify(token.strip())
        return await self._api_keys.check(api_key[0])

    async def check(self, info: RpcInfo, request: Any, context: Context) -> None:
        """Set the principal, or abort with UNAUTHENTICATED."""
        state = call.current()
        principal = await self._principal(state.metadata)
        if principal is None:
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        state.principal = principal
