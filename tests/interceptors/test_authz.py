"""Authorization on a real port with the real KnowledgeService: admin-only methods, audit of failures.

A handler that answers OK stands in for the service, so OK means "authorization let the call
through". Authentication is played by tests/support/principal.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from wuffchat.knowledge.v1 import knowledge_service_pb2 as kb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc as kb_grpc

from interceptors import selector
from interceptors.authz import AuthorizationInterceptor
from interceptors.context import ContextInterceptor
from server.audit import AuditLog
from tests.interceptors.conftest import audit_events
from tests.support.echo import echo_server
from tests.support.principal import PrincipalFromMetadata, principal_header


class _Reached(kb_grpc.KnowledgeServiceServicer):
    """Answers every call OK: reaching it means authorization admitted the call."""

    async def SearchBehaviors(self, request: Any, context: Any) -> kb.SearchBehaviorsResponse:
        return kb.SearchBehaviorsResponse()

    async def UpsertBehavior(self, request: Any, context: Any) -> kb.UpsertBehaviorResponse:
        return kb.UpsertBehaviorResponse()

    async def DeleteBehavior(self, request: Any, context: Any) -> kb.DeleteBehaviorResponse:
        return kb.DeleteBehaviorResponse()


@asynccontextmanager
async def _knowledge(audit: AuditLog) -> AsyncIterator[kb_grpc.KnowledgeServiceStub]:
    chain = [
        ContextInterceptor(),
        PrincipalFromMetadata(),
        AuthorizationInterceptor(audit, applies=selector.is_protected_wuffchat),
    ]
    register = [lambda server: kb_grpc.add_KnowledgeServiceServicer_to_server(_Reached(), server)]
    async with echo_server(chain, register=register) as channel:
        yield kb_grpc.KnowledgeServiceStub(channel)


async def _code(rpc: Any, request: Any, *metadata: tuple[str, str]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rpc(request, metadata=metadata)
    return err.value.code()


async def test_unary_admin_may_upsert_and_delete(audit_log: AuditLog, audit_engine: AsyncEngine) -> None:
    admin = principal_header("apikey", "ops", "admin")
    async with _knowledge(audit_log) as stub:
        await stub.UpsertBehavior(kb.UpsertBehaviorRequest(), metadata=(admin,))
        await stub.DeleteBehavior(kb.DeleteBehaviorRequest(), metadata=(admin,))
    assert await audit_events(audit_engine) == []


async def test_unary_user_without_admin_is_denied_and_audited(audit_log: AuditLog, audit_engine: AsyncEngine) -> None:
    user = principal_header("user", "u1")
    async with _knowledge(audit_log) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.DeleteBehavior(kb.DeleteBehaviorRequest(), metadata=(user,))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details() == "Dafür fehlt dir die Berechtigung."
    rows = await audit_events(audit_engine)
    assert [(r.event, r.principal, r.details["required_role"]) for r in rows] == [("authz_fail", "user:u1", "admin")]


async def test_unary_any_principal_may_search(audit_log: AuditLog) -> None:
    service = principal_header("apikey", "svc", "service")
    async with _knowledge(audit_log) as stub:
        await stub.SearchBehaviors(kb.SearchBehaviorsRequest(), metadata=(service,))


async def test_unary_without_principal_fails_closed(audit_log: AuditLog) -> None:
    async with _knowledge(audit_log) as stub:
        assert await _code(stub.SearchBehaviors, kb.SearchBehaviorsRequest()) == grpc.StatusCode.UNAUTHENTICATED
