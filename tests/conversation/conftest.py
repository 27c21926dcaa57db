"""A real server with the real chain (real API-key authentication), and helpers to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from wuffchat.conversation.v1 import conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from server.app import RunningServer, start
from server.config import Settings
from server.knowledge import factory
from tests.support.clock import Clock


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Load the embedding model once per session and share the embedding cache between servers."""
    factory.shared_encoder()
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture
def clock() -> Clock:
    return Clock()


StartServer = Callable[..., Any]


@pytest.fixture
async def start_server(
    settings_factory: Callable[..., Settings], embedding_cache: Path, tmp_path: Path, clock: Clock
) -> AsyncIterator[StartServer]:
    """Start servers (same SQLite file per test); all are stopped at the end."""
    running: list[RunningServer] = []

    async def make(**overrides: Any) -> RunningServer:
        settings = settings_factory(
            CACHE_DIR=str(embedding_cache), KNOWLEDGE_OVERLAY_DIR=str(tmp_path / "overlay"), **overrides
        )
        server = await start(settings, clock=clock)
        running.append(server)
        return server

    yield make
    for server in running:
        await server.stop(0)


@pytest.fixture
async def conv_server(start_server: StartServer) -> RunningServer:
    server: RunningServer = await start_server()
    return server


@pytest.fixture
async def conv_channel(conv_server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{conv_server.port}") as chan:
        yield chan


@pytest.fixture
def conversations(conv_channel: grpc.aio.Channel) -> conversation_service_pb2_grpc.ConversationServiceStub:
    return conversation_service_pb2_grpc.ConversationServiceStub(conv_channel)


@pytest.fixture
def knowledge(conv_channel: grpc.aio.Channel) -> knowledge_service_pb2_grpc.KnowledgeServiceStub:
    return knowledge_service_pb2_grpc.KnowledgeServiceStub(conv_channel)
