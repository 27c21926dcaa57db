"""Authorization, after rate limiting: the roles each method needs, from the contracts' method policy.

It needs the principal that authentication put into the call state, and runs after rate limiting
so probing for privileged methods is limited too. Methods whose policy names no role are open to any
authenticated principal (ownership of single resources is the services' job: SPEC.md section 4
wants NOT_FOUND there, not PERMISSION_DENIED). chain.py applies it to methods that need a principal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc

from rpc import call, errors

from .base import Context, Interceptor, RpcInfo
from .policy import POLICIES
from .protocols import AuditSink

# method -> roles of which the principal needs one
REQUIRED_ROLES: Mapping[str, frozenset[str]] = {
    method: found.roles for method, found in POLICIES.items() if found.roles
}


class AuthorizationInterceptor(Interceptor):
    """Checks the principal's roles against `required_roles` (one of them is enough).

    Aborts with UNAUTHENTICATED when there is no principal at all (authentication did not run:
    fail closed) and with PERMISSION_DENIED, audited as `authz_fail`, when the role is missing.
    """

    def __init__(
        self,
        audit: AuditSink,
        *,
        required_roles: Mapping[str, frozenset[str]] = REQUIRED_ROLES,
        applies: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(applies=applies)
        self._audit = audit
        self._required = dict(required_roles)

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        principal = call.principal()
        if principal is None:
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        roles = self._required.get(info.method)
        if roles is None or not roles.isdisjoint(principal.roles):
            return
        await self._audit.record_safely(
            "authz_fail", severity="warning", details={"method": info.method, "required_role": ",".join(sorted(roles))}
        )
        await errors.abort(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied")
