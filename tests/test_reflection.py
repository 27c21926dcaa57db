"""Server reflection lists the three services, health and reflection itself."""

from __future__ import annotations

import grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from server.app import SERVICE_NAMES


async def test_stream_reflection_lists_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    reply = await call.read()
    await call.done_writing()
    names = {s.name for s in reply.list_services_response.service}
    assert set(SERVICE_NAMES) <= names
    assert {
        "wuffchat.auth.v1.AuthService",
        "wuffchat.conversation.v1.ConversationService",
        "wuffchat.knowledge.v1.KnowledgeService",
        "grpc.health.v1.Health",
    } <= names


async def test_stream_reflection_resolves_file_with_validate_rules(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(file_containing_symbol="wuffchat.auth.v1.AuthService"))
    reply = await call.read()
    await call.done_writing()
    assert reply.file_descriptor_response.file_descriptor_proto, reply
