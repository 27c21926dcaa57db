"""Conversation tests run against the real server with the real chain (real API-key authentication):
`conv_server` is the test's server (tests/conftest.py `server`), with stubs for both services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from wuffchat.conversation.v1 import conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from server.app import RunningServer
from tests.support.servers import address


@pytest.fixture
def conv_server(server: RunningServer) -> RunningServer:
    """The test's server (an alias of `server`, kept for the tests written against it)."""
    return server


@pytest.fixture
async def conv_channel(conv_server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(address(conv_server)) as chan:
        yield chan


@pytest.fixture
def conversations(conv_channel: grpc.aio.Channel) -> conversation_service_pb2_grpc.ConversationServiceStub:
    return conversation_service_pb2_grpc.ConversationServiceStub(conv_channel)


@pytest.fixture
def knowledge(conv_channel: grpc.aio.Channel) -> knowledge_service_pb2_grpc.KnowledgeServiceStub:
    return knowledge_service_pb2_grpc.KnowledgeServiceStub(conv_channel)
