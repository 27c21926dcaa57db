"""The real server on a real port for the client tests, and helpers to reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import RunningServer, start
from server.config import Settings
from server.knowledge import factory
from tests.support.clock import Clock

StartServer = Callable[..., Any]


@pytest.fixture(scope="session")
def client_embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Load the embedding model once per session; servers share one embedding cache."""
    factory.shared_encoder()
    return tmp_path_factory.mktemp("client-embeddings")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def start_server(
    settings_factory: Callable[..., Settings], client_embedding_cache: Path, tmp_path: Path, clock: Clock
) -> AsyncIterator[StartServer]:
    """Start real servers with setting overrides (the test SQLite file, knowledge base, API keys)."""
    running: list[RunningServer] = []

    async def make(**overrides: Any) -> RunningServer:
        settings = settings_factory(
            CACHE_DIR=str(client_embedding_cache), KNOWLEDGE_OVERLAY_DIR=str(tmp_path / "overlay"), **overrides
        )
        server = await start(settings, clock=clock)
        running.append(server)
        return server

    yield make
    for server in running:
        await server.stop(0)


@pytest.fixture
async def target(start_server: StartServer) -> str:
    """host:port of a real server with the default test settings."""
    server: RunningServer = await start_server()
    return f"127.0.0.1:{server.port}"
