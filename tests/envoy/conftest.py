"""The edge fixtures (tests/support/edge.py): one real server and one real Envoy per session."""

from tests.support.edge import edge_server, envoy, web

__all__ = ["edge_server", "envoy", "web"]
