"""Envoy's own metrics for Prometheus (scripts/render_envoy.py, ENVOY_STATS_ADDR): a listener that answers
`GET /stats/prometheus` from the admin interface and nothing else.

The admin interface stays on loopback (ENVOY_ADMIN_ADDR): it can also drain listeners, change log levels
and dump the configuration. This listener proxies the one read-only path to it through a cluster of its
own, so the address a scraper reaches (a pod port, say) shows statistics only; every other path is 404.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

LISTENER = "stats"
CLUSTER = "envoy_admin"
PATH = "/stats/prometheus"


def stats_listener(address: Json) -> Json:
    """The listener on `address` (a `socket_address` block)."""
    return {
        "name": LISTENER,
        "address": address,
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
                            ".v3.HttpConnectionManager",
                            "stat_prefix": LISTENER,
                            "codec_type": "AUTO",
                            "normalize_path": True,
                            "merge_slashes": True,
                            "request_headers_timeout": "10s",
                            "route_config": {
                                "name": LISTENER,
                                "virtual_hosts": [
                                    {
                                        "name": LISTENER,
                                        "domains": ["*"],
                                        "routes": [
                                            {
                                                "match": {
                                                    "path": PATH,
                                                    "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
                                                },
                                                "route": {"cluster": CLUSTER, "timeout": "10s"},
                                            },
                                            {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                                        ],
                                    }
                                ],
                            },
                            "http_filters": [
                                {
                                    "name": "envoy.filters.http.router",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                                    },
                                }
                            ],
                        },
                    }
                ]
            }
        ],
    }


def admin_cluster(admin: Json) -> Json:
    """The cluster that reaches the admin interface at `admin` (a `socket_address` block)."""
    return {
        "name": CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": admin}}]}],
        },
    }
