"""The client tests run against the real server on a real port (tests/conftest.py `servers`)."""

from __future__ import annotations

import pytest

from server.app import RunningServer
from tests.support.servers import address


@pytest.fixture
def target(server: RunningServer) -> str:
    """host:port of a real server with the default test settings."""
    return address(server)
