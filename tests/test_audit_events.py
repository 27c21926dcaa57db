"""Data access and changes on the record (issue 18): each event at the gRPC boundary or the CLI, with
principal, client IP and request id, never the content; the chain verifies afterwards."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from sqlalchemy import select
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2 as kpb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from server.app import RunningServer
from server.audit import AuditLog, verify
from server.storage.db import session_factory
from server.storage.models import AuditEvent
from tests.knowledge import contract
from tests.support.auth import ADMIN_KEY, api_key, bearer, signed_up
from tests.support.process import run_server
from tests.support.sealed import SYMPTOM


async def _events(server: RunningServer, name: str) -> list[AuditEvent]:
    async with session_factory(server.engine)() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)))


def _on_record(event: AuditEvent, principal: str) -> None:
    assert event.principal == principal
    assert event.client_ip == "127.0.0.1"
    assert event.request_id and len(event.request_id) == 32


async def test_unary_export_and_conversation_delete_are_recorded(server: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        tokens = await signed_up(channel, "auditiert@example.org")
        me = bearer(tokens.access_token)
        conversations = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        started = await conversations.StartConversation(pb.StartConversationRequest(language="de"), metadata=me)
        await conversations.SendMessage(
            pb.SendMessageRequest(conversation_id=started.conversation_id, text=SYMPTOM), metadata=me
        )
        await conversations.DeleteConversation(
            pb.DeleteConversationRequest(conversation_id=started.conversation_id), metadata=me
        )
        auth = auth_service_pb2_grpc.AuthServiceStub(channel)
        user_id = (await auth.GetProfile(auth_pb.GetProfileRequest(), metadata=me)).user_id
        await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=me)
        second = json.loads((await auth.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=me)).json)
    [deleted] = await _events(server, "conversation_deleted")
    _on_record(deleted, f"user:{user_id}")
    exports = await _events(server, "data_export")
    assert len(exports) == 2
    _on_record(exports[0], f"user:{user_id}")
    # the owner reads their own trail in the export, the first export included
    mine = {e["event"]: e["description"] for e in second["audit_events"]}
    assert {"user_created", "conversation_deleted", "data_export"} <= set(mine)
    assert mine["data_export"] == "personal data exported", "in readable form"
    dump = repr([(e.details, e.principal) for e in (deleted, *exports)])
    assert started.conversation_id not in dump and "auditiert" not in dump and "Hund" not in dump
    assert (await verify(server.engine)).intact


@pytest.mark.own_knowledge
async def test_unary_knowledge_changes_are_recorded_with_admin_and_slug(server: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        knowledge = knowledge_service_pb2_grpc.KnowledgeServiceStub(channel)
        behavior = contract.sofa_behavior()
        await knowledge.UpsertBehavior(kpb.UpsertBehaviorRequest(behavior=behavior), metadata=api_key(ADMIN_KEY))
        await knowledge.DeleteBehavior(kpb.DeleteBehaviorRequest(id=behavior.id), metadata=api_key(ADMIN_KEY))
    upsert, delete = await _events(server, "knowledge_changed")
    _on_record(upsert, "apikey:env:test-admin")
    assert upsert.details == {"action": "upsert", "slug": behavior.id, "created": True}
    assert delete.details == {"action": "delete", "slug": behavior.id}
    assert (await verify(server.engine)).intact


async def test_cli_apikey_create_and_revoke_are_recorded(server: RunningServer) -> None:
    env = {"DATABASE_URL": str(server.engine.url)}
    created = await asyncio.to_thread(run_server, env, "apikey", "create", "crawler", "--role", "service", timeout=60)
    assert created.returncode == 0, created.stderr
    revoked = await asyncio.to_thread(run_server, env, "apikey", "revoke", "crawler", timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    [made] = await _events(server, "apikey_created")
    [gone] = await _events(server, "apikey_revoked")
    assert (made.principal, made.details) == ("cli:operator", {"name": "crawler", "role": "service"})
    assert (gone.principal, gone.details) == ("cli:operator", {"name": "crawler"})
    assert created.stdout.strip() not in repr(made.details)
    await AuditLog(server.engine).record("probe")  # the server appends after the CLI's rows: one chain
    assert (await verify(server.engine)).intact


async def test_dev_start_records_weakened_settings(server: RunningServer) -> None:
    [event] = await _events(server, "config_weakened")
    # test servers: a random per-process SECRET_KEY, cheap Argon2, API keys with a digit run
    assert (event.severity, event.principal) == ("warning", None)
    assert event.details == {"settings": ["SECRET_KEY", "ARGON2", "API_KEYS"]}
