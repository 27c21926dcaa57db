"""The edge fixtures (tests/support/edge.py): one real server and one real Envoy per session; a test PKI
for renderings that need certificate files."""

import pytest

from tests.support.edge import edge_server, envoy, web
from tests.support.pki import Pki, make_pki

__all__ = ["edge_pki", "edge_server", "envoy", "web"]


@pytest.fixture(scope="session")
def edge_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("edge-pki"))
