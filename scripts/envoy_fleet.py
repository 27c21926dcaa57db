"""Fleet mode of the rendered Envoy (scripts/render_envoy.py): one cluster of N server instances.

The cluster balances ROUND_ROBIN over the instances, checks each with `grpc.health.v1.Health/Check`
(active health checks: an instance that answers NOT_SERVING, which the server does from the first moment
of a graceful shutdown, gets no new calls after one check) and ejects one that keeps failing calls
(outlier detection: consecutive gateway errors or 5xx, gRPC statuses mapped as Envoy maps them).

Retries follow the contract. A method whose .proto says `idempotency_level = NO_SIDE_EFFECTS` (read
from the descriptors, interceptors/policy.py, the same table the server and clients use) gets a route of
its own that retries on another instance when the call failed UNAVAILABLE, was reset or could not
connect. Every other method is retried only where the server provably never saw it: the connection
could not be made (`connect-failure`) or the server refused the stream unprocessed (`refused-stream`,
RFC 9113 8.7: a GOAWAY or stream limit); a Login or a turn cut off mid-call is never sent twice.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from interceptors.policy import POLICIES

Json = dict[str, Any]

# Health is read-only too; the clients retry it the same way (clients/python `_channel.py`).
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
PREVIOUS_HOSTS: Json = {
    "name": "envoy.retry_host_predicates.previous_hosts",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
    },
}
# Never processed by the server: safe for every method.
UNSENT_RETRY_ON = "connect-failure,refused-stream"
# Possibly processed: only for methods without side effects.
IDEMPOTENT_RETRY_ON = f"{UNSENT_RETRY_ON},unavailable,reset,retriable-status-codes"


@dataclass(frozen=True)
class FleetTuning:
    """How fast Envoy notices an instance going away; the server's drain (SHUTDOWN_DRAIN_SECONDS) must
    outlast `interval + timeout` so no call reaches an instance that has stopped accepting them."""

    interval_seconds: float = 1.0
    timeout_seconds: float = 1.0
    unhealthy_threshold: int = 2
    healthy_threshold: int = 1
    retries: int = 3


DEFAULT_TUNING = FleetTuning()


def idempotent_paths() -> tuple[str, ...]:
    """The gRPC paths whose contracts say they have no side effects, plus health Check."""
    return (HEALTH_CHECK_PATH, *sorted(path for path, policy in POLICIES.items() if policy.idempotent))


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _retry_policy(retry_on: str, tuning: FleetTuning) -> Json:
    policy: Json = {
        "retry_on": retry_on,
        "num_retries": tuning.retries,
        "retry_host_predicate": [copy.deepcopy(PREVIOUS_HOSTS)],
        "host_selection_retry_max_attempts": 3,
        "retry_back_off": {"base_interval": "0.025s", "max_interval": "0.25s"},
    }
    if "retriable-status-codes" in retry_on:  # a 503 Envoy or a proxy made, not a gRPC status
        policy["retriable_status_codes"] = [503]
    return policy


def routes(grpc_route: Json, tuning: FleetTuning, paths: Iterable[str] | None = None) -> list[Json]:
    """Routes for the gRPC catch-all `grpc_route`: one per idempotent path (retried on UNAVAILABLE and
    resets), to go before it; `grpc_route` itself gets the retry policy for calls never sent."""
    grpc_route["route"]["retry_policy"] = _retry_policy(UNSENT_RETRY_ON, tuning)
    found: list[Json] = []
    for path in paths if paths is not None else idempotent_paths():
        route = copy.deepcopy(grpc_route)
        route["match"] = {"path": path, "headers": route["match"].get("headers", [])}
        route["route"]["retry_policy"] = _retry_policy(IDEMPOTENT_RETRY_ON, tuning)
        found.append(route)
    return found


def cluster_endpoints(cluster: Json, endpoints: Sequence[Json], tuning: FleetTuning) -> None:
    """Make `cluster` balance over `endpoints` (socket addresses) with health checks and outlier detection."""
    cluster["lb_policy"] = "ROUND_ROBIN"
    cluster["load_assignment"]["endpoints"] = [{"lb_endpoints": [{"endpoint": {"address": e}} for e in endpoints]}]
    interval = _seconds(tuning.interval_seconds)
    cluster["health_checks"] = [
        {
            "timeout": _seconds(tuning.timeout_seconds),
            "interval": interval,
            # Without traffic Envoy would check only once a minute, and after a failure it keeps the pace.
            "no_traffic_interval": interval,
            "unhealthy_interval": interval,
            "unhealthy_threshold": tuning.unhealthy_threshold,
            "healthy_threshold": tuning.healthy_threshold,
            "interval_jitter": "0s",
            # The overall status (""), which the server turns NOT_SERVING first when it drains.
            "grpc_health_check": {"service_name": ""},
            "reuse_connection": True,
        }
    ]
    cluster["outlier_detection"] = {
        "consecutive_gateway_failure": 3,
        "enforcing_consecutive_gateway_failure": 100,
        "consecutive_5xx": 5,
        "interval": "1s",
        "base_ejection_time": "10s",
        "max_ejection_percent": 50,
    }
    # Envoy allows 3 concurrent retries per cluster by default: when an instance dies with more calls in
    # flight than that, the rest would fail. A budget scales with the traffic instead.
    for threshold in cluster.get("circuit_breakers", {}).get("thresholds", []):
        threshold["retry_budget"] = {"budget_percent": {"value": 25.0}, "min_retry_concurrency": 32}
    # Route only to instances that pass their checks, even when few do (no "panic" spreading to all).
    cluster["common_lb_config"] = {"healthy_panic_threshold": {"value": 0}}
