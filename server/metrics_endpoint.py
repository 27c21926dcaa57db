"""The Prometheus endpoint on METRICS_ADDR: prometheus-client's HTTP server on a thread of its own.

Plain HTTP, text format, any path (`/metrics` by convention); it serves one registry: the server's
(`rpc.metrics.Metrics.registry`), or with `--workers` the parent's multiprocess registry that sums
every worker (server/workers.py). Keep the address private (loopback, or a pod port that only the
Prometheus scraper may reach): the figures are not secret, but they are nobody else's business.
"""

from __future__ import annotations

from prometheus_client import start_http_server
from prometheus_client.registry import Collector


class MetricsEndpoint:
    """A started endpoint; `port` is the bound port (METRICS_ADDR may say port 0)."""

    def __init__(self, addr: str, registry: Collector) -> None:
        """Bind and serve `registry` on `addr` (`host:port`).

        Raises:
            OSError: the address is in use or not available.
        """
        host, _, port = addr.rpartition(":")
        self._server, self._thread = start_http_server(int(port), host.strip("[]"), registry=registry)
        self.port: int = self._server.server_port

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
