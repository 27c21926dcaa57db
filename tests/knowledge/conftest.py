"""The knowledge tests use the conversation tests' stubs on the test's server (same test API keys),
plus the Weaviate stand-in, and keep the live-Weaviate test out unless WEAVIATE_TEST_URL is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.conversation.conftest import conv_channel, conv_server, conversations, knowledge  # noqa: F401
from tests.support.weaviate_fake import FakeWeaviate

LIVE_MARKER = "weaviate_live"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{LIVE_MARKER}: needs a real Weaviate at WEAVIATE_TEST_URL (else deselected)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip: CI turns skips into failures) the live-Weaviate tests when no server is configured."""
    if os.environ.get("WEAVIATE_TEST_URL"):
        return
    live = [item for item in items if item.get_closest_marker(LIVE_MARKER)]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker(LIVE_MARKER)]


@pytest.fixture
async def weaviate_fake() -> AsyncIterator[FakeWeaviate]:
    """A Weaviate stand-in speaking the real REST and gRPC protocols on 127.0.0.1 (tests/support/weaviate_fake.py)."""
    fake = FakeWeaviate()
    await fake.start()
    yield fake
    await fake.stop()
    assert not fake.unknown, f"the client called routes the fake does not serve: {fake.unknown}"
