"""Render envoy.yaml for one environment into build/envoy-<env>.yaml (called by `make envoy`).

The template is the development configuration. Rendering sets the listener, admin and upstream
addresses, the CORS origins (dev: http://localhost and http://127.0.0.1 on any port; prod: exactly
`CORS_ORIGINS`, checked by the server's own validator, server/origins.py), the request size cap, and
one direct-response route per file of the built web client (clients/web/dist), so the page and the API
share one origin. With certificate files it adds TLS (scripts/envoy_tls.py): the https listener
(required in prod), the plain listener that only redirects to it, and TLS or mutual TLS to the server;
their SDS files are written beside the configuration. `ENVOY_STATS_ADDR` adds a listener that serves
only Envoy's `/stats/prometheus` (scripts/envoy_stats.py). The standard `OTEL_*` variables with an OTLP
endpoint make Envoy start (or continue) each request's trace (scripts/envoy_tracing.py). With several
upstreams (`--fleet host:port,...` or `ENVOY_UPSTREAMS`) the one cluster balances over them with health
checks, outlier detection and retries for idempotent methods (scripts/envoy_fleet.py). Bad input exits
with code 2 and one line naming the variable.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from server import origins
from server.config import ConfigError, EdgeSettings, load_group

try:
    from scripts import envoy_fleet, envoy_stats, envoy_tls, envoy_tracing
except ModuleNotFoundError:  # run as `python scripts/render_envoy.py` (make envoy): this folder is on sys.path
    import envoy_fleet  # type: ignore[no-redef,import-not-found,unused-ignore]
    import envoy_stats  # type: ignore[no-redef,import-not-found,unused-ignore]
    import envoy_tls  # type: ignore[no-redef,import-not-found,unused-ignore]
    import envoy_tracing  # type: ignore[no-redef,import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "envoy.yaml"
WEB_DIST = ROOT / "clients" / "web" / "dist"

DEV_ORIGIN_REGEX = r"^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$"
# A wildcard address is mapped to loopback for connecting; nothing binds to it here.
_ANY_HOST = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1", "": "127.0.0.1"}  # noqa: S104  # nosec B104
# gRPC framing (5 bytes per message) and a little slack above the server's own message cap.
FRAMING_SLACK_BYTES = 1024
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".map": "application/json",
}

Json = dict[str, Any]


class RenderError(ValueError):
    """An input is invalid; the message is one line naming the variable."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int


@dataclass(frozen=True)
class EdgeOptions:
    """What differs between environments and machines."""

    env: str = "dev"
    listen: Address = Address("127.0.0.1", 8080)
    admin: Address = Address("127.0.0.1", 9901)
    upstream: Address = Address("127.0.0.1", 50051)
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 65536
    static_dir: Path | None = None
    static_files: tuple[Path, ...] = field(default_factory=tuple)
    tls: envoy_tls.ServingTls | None = None  # the listener speaks https
    redirect: Address | None = None  # a plain listener that only redirects to https (needs `tls`)
    upstream_tls: envoy_tls.UpstreamTls | None = None  # TLS (mutual with a client certificate) to the server
    sds_dir: Path = ROOT / "build" / "envoy-sds"  # where `write` puts the SDS files the configuration names
    stats: Address | None = None  # a listener serving only GET /stats/prometheus (scripts/envoy_stats.py)
    fleet: tuple[Address, ...] = ()  # several instances instead of `upstream` (scripts/envoy_fleet.py)
    fleet_tuning: envoy_fleet.FleetTuning = envoy_fleet.DEFAULT_TUNING
    tracing: envoy_tracing.Tracing | None = None  # OpenTelemetry spans from the edge (scripts/envoy_tracing.py)


def parse_address(name: str, raw: str) -> Address:
    """'host:port' or '[v6]:port' -> Address.

    Raises:
        RenderError: not host:port with a port in 0..65535.
    """
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise RenderError(f"{name} must be host:port, got {raw!r}")
    return Address(host.strip("[]"), int(port))


def parse_origins(env: str, raw: str) -> tuple[str, ...]:
    """Comma-separated origins, checked by the server's own validator (server/origins.py).

    Raises:
        RenderError: a malformed origin, or a production rule broken.
    """
    try:
        return origins.parse_origins(raw, prod=env == "prod")
    except origins.OriginError as err:
        raise RenderError(str(err)) from None


def parse_addresses(name: str, raw: str) -> tuple[Address, ...]:
    """Comma-separated host:port list -> Addresses, in order, without duplicates.

    Raises:
        RenderError: an entry is not host:port, or one appears twice.
    """
    found = tuple(parse_address(name, item) for item in raw.split(",") if item.strip())
    if len(set(found)) != len(found):
        raise RenderError(f"{name} names an address twice: {raw!r}")
    return found


def _loopback(address: Address) -> bool:
    try:
        return ipaddress.ip_address(address.host).is_loopback
    except ValueError:
        return address.host == "localhost"


def _socket_address(address: Address) -> Json:
    return {"socket_address": {"address": address.host, "port_value": address.port}}


def _named(items: Sequence[Json], name: str) -> Json:
    return next(item for item in items if item.get("name") == name)


def _cors_policy(options: EdgeOptions) -> list[Json]:
    if options.env == "dev":
        return [{"safe_regex": {"regex": DEV_ORIGIN_REGEX}}, *({"exact": o} for o in options.cors_origins)]
    return [{"exact": origin} for origin in options.cors_origins]


def _static_routes(options: EdgeOptions) -> list[Json]:
    """One GET route per built file; index.html also answers '/'."""
    if options.static_dir is None:
        return []
    routes: list[Json] = []
    for path in options.static_files:
        relative = path.relative_to(options.static_dir).as_posix()
        headers = [
            {"header": {"key": "content-type", "value": CONTENT_TYPES.get(path.suffix, "application/octet-stream")}},
            {"header": {"key": "cache-control", "value": "no-cache"}},
        ]
        paths = ["/", "/index.html"] if relative == "index.html" else [f"/{relative}"]
        for url_path in paths:
            routes.append(
                {
                    "match": {"path": url_path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
                    "direct_response": {"status": 200, "body": {"filename": str(path.resolve())}},
                    "response_headers_to_add": headers,
                }
            )
    return routes


def render(template: Json, options: EdgeOptions) -> Json:
    """A new configuration: `template` with the environment's addresses, origins, limits and files.

    Raises:
        RenderError: the admin address is not a loopback address.
    """
    if not _loopback(options.admin):
        raise RenderError(f"ENVOY_ADMIN_ADDR must be a loopback address, got {options.admin.host!r}")
    if options.redirect is not None and options.tls is None:
        raise RenderError(
            "ENVOY_REDIRECT_ADDR needs ENVOY_TLS_CERT_FILE and ENVOY_TLS_KEY_FILE (it redirects to https)"
        )
    config: Json = json.loads(json.dumps(template))  # a deep copy that shares nothing (no YAML aliases)
    config["admin"]["address"] = _socket_address(options.admin)

    listener = _named(config["static_resources"]["listeners"], "edge")
    listener["address"] = _socket_address(options.listen)
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    buffer = _named(hcm["http_filters"], "envoy.filters.http.buffer")
    buffer["typed_config"]["max_request_bytes"] = options.max_request_bytes + FRAMING_SLACK_BYTES
    vhost = _named(hcm["route_config"]["virtual_hosts"], "wuffchat")
    vhost["typed_per_filter_config"]["envoy.filters.http.cors"]["allow_origin_string_match"] = _cors_policy(options)
    vhost["routes"][-1:-1] = _static_routes(options)  # before the catch-all 404
    if options.redirect is not None:  # copies the plain listener's connection manager, so before HSTS
        redirect = envoy_tls.redirect_listener(listener, _socket_address(options.redirect), options.listen.port)
        config["static_resources"]["listeners"].append(redirect)
    if options.tls is not None:
        listener["filter_chains"][0]["transport_socket"] = envoy_tls.serving_transport_socket(options.sds_dir)
        envoy_tls.add_hsts(hcm)

    if options.stats is not None:
        config["static_resources"]["listeners"].append(envoy_stats.stats_listener(_socket_address(options.stats)))
        config["static_resources"]["clusters"].append(envoy_stats.admin_cluster(_socket_address(options.admin)))

    cluster = _named(config["static_resources"]["clusters"], "wuffchat_grpc")
    upstream = _upstream(options)
    upstreams = tuple(_connectable(a) for a in options.fleet) or (upstream,)
    cluster["type"] = "STATIC" if all(envoy_tls.is_ip(a.host) for a in upstreams) else "STRICT_DNS"
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] = _socket_address(upstream)
    if options.fleet:
        envoy_fleet.cluster_endpoints(cluster, [_socket_address(a) for a in upstreams], options.fleet_tuning)
        grpc_route = next(r for r in vhost["routes"] if _is_grpc_route(r))
        at = vhost["routes"].index(grpc_route)
        vhost["routes"][at:at] = envoy_fleet.routes(grpc_route, options.fleet_tuning)
    if options.upstream_tls is not None:
        socket = envoy_tls.upstream_transport_socket(options.upstream_tls, upstream.host, options.sds_dir)
        cluster["transport_socket"] = socket
    if options.tracing is not None:  # the edge only: the redirect and stats listeners start no traces
        hcm["tracing"] = envoy_tracing.http_tracing(options.tracing)
        config["static_resources"]["clusters"].append(envoy_tracing.collector_cluster(options.tracing))
    return config


def _is_grpc_route(route: Json) -> bool:
    """The template's route for gRPC calls (content-type application/grpc...)."""
    headers = route.get("match", {}).get("headers", [])
    return "route" in route and any(h.get("name") == "content-type" for h in headers)


def _connectable(address: Address) -> Address:
    """`address` as Envoy connects to it (a wildcard host means this host)."""
    return Address(_ANY_HOST.get(address.host, address.host), address.port)


def _upstream(options: EdgeOptions) -> Address:
    """The server's address as Envoy connects to it (the first instance of a fleet)."""
    return _connectable(options.fleet[0] if options.fleet else options.upstream)


def _tls_options(env_name: str, environ: Mapping[str, str], listen: Address, upstream: Address) -> Json:
    """EdgeOptions' TLS fields from ENVOY_TLS_*, ENVOY_REDIRECT_ADDR and ENVOY_UPSTREAM_*.

    Raises:
        RenderError: a variable is malformed, or prod lacks TLS where it needs it.
    """
    try:
        serving = envoy_tls.serving_tls_from_env(environ)
        upstream_tls = envoy_tls.upstream_tls_from_env(environ)
    except envoy_tls.TlsError as err:
        raise RenderError(str(err)) from None
    if env_name == "prod" and serving is None:
        raise RenderError("APP_ENV=prod needs ENVOY_TLS_CERT_FILE and ENVOY_TLS_KEY_FILE (Envoy serves https only)")
    raw_redirect = environ.get("ENVOY_REDIRECT_ADDR", "").strip()
    redirect: Address | None = None
    if raw_redirect and raw_redirect != "off":
        redirect = parse_address("ENVOY_REDIRECT_ADDR", raw_redirect)
    elif not raw_redirect and env_name == "prod":
        redirect = Address(listen.host, 80)
    if redirect is not None and serving is None:
        raise RenderError(
            "ENVOY_REDIRECT_ADDR needs ENVOY_TLS_CERT_FILE and ENVOY_TLS_KEY_FILE (it redirects to https)"
        )
    if redirect == listen:
        raise RenderError(f"ENVOY_REDIRECT_ADDR must differ from ENVOY_ADDR, both are {listen.host}:{listen.port}")
    # The server reads the same variables under `make run`: a TLS port needs TLS from Envoy.
    if upstream_tls is None and environ.get("GRPC_TLS_CERT_FILE"):
        raise RenderError("GRPC_TLS_CERT_FILE is set (the server speaks TLS): Envoy needs ENVOY_UPSTREAM_CA_FILE")
    if environ.get("GRPC_TLS_CLIENT_CA_FILE") and (upstream_tls is None or upstream_tls.cert_file is None):
        raise RenderError(
            "GRPC_TLS_CLIENT_CA_FILE is set (the server wants client certificates): Envoy needs "
            "ENVOY_UPSTREAM_CERT_FILE and ENVOY_UPSTREAM_KEY_FILE"
        )
    if env_name == "prod" and upstream_tls is None and not _loopback(upstream):
        raise RenderError(
            f"APP_ENV=prod needs ENVOY_UPSTREAM_CA_FILE for a GRPC_ADDR other machines can reach, got {upstream.host!r}"
        )
    return {"tls": serving, "redirect": redirect, "upstream_tls": upstream_tls}


def _optional_address(name: str, environ: Mapping[str, str]) -> Address | None:
    """The address in `name`, or None when it is unset, empty or "off"."""
    raw = environ.get(name, "").strip()
    return None if raw in ("", "off") else parse_address(name, raw)


def _tracing(environ: Mapping[str, str]) -> envoy_tracing.Tracing | None:
    try:
        return envoy_tracing.tracing_from_env(environ)
    except envoy_tracing.TracingError as err:
        raise RenderError(str(err)) from None


def options_from_env(
    env_name: str, environ: Mapping[str, str], *, static_dir: Path | None = WEB_DIST, sds_dir: Path | None = None
) -> EdgeOptions:
    """EdgeOptions from ENVOY_ADDR, ENVOY_ADMIN_ADDR, GRPC_ADDR (or ENVOY_UPSTREAMS, a fleet), CORS_ORIGINS,
    MAX_REQUEST_BYTES, the TLS variables (ENVOY_TLS_*, ENVOY_REDIRECT_ADDR, ENVOY_UPSTREAM_*), ENVOY_STATS_ADDR
    and the OpenTelemetry ones (OTEL_*, scripts/envoy_tracing.py); SDS files go to `sds_dir` (default
    build/envoy-<env>-sds).

    Raises:
        RenderError: a variable is malformed.
    """
    if env_name not in ("dev", "prod"):
        raise RenderError(f"APP_ENV must be dev or prod, got {env_name!r}")
    try:  # the server's own rule and default for its request cap (server/config/)
        edge = load_group(EdgeSettings, {"MAX_REQUEST_BYTES": environ.get("MAX_REQUEST_BYTES", "")})
    except ConfigError as err:
        raise RenderError(str(err)) from None
    files: tuple[Path, ...] = ()
    if static_dir is not None and (static_dir / "index.html").is_file():
        files = tuple(sorted(p for p in static_dir.rglob("*") if p.is_file() and p.suffix in CONTENT_TYPES))
    else:
        static_dir = None
    options = EdgeOptions(
        env=env_name,
        listen=parse_address("ENVOY_ADDR", environ.get("ENVOY_ADDR", "") or "127.0.0.1:8080"),
        admin=parse_address("ENVOY_ADMIN_ADDR", environ.get("ENVOY_ADMIN_ADDR", "") or "127.0.0.1:9901"),
        upstream=parse_address("GRPC_ADDR", environ.get("GRPC_ADDR", "") or "127.0.0.1:50051"),
        cors_origins=parse_origins(env_name, environ.get("CORS_ORIGINS", "")),
        max_request_bytes=edge.max_request_bytes,
        static_dir=static_dir,
        static_files=files,
        sds_dir=sds_dir or ROOT / "build" / f"envoy-{env_name}-sds",
        stats=_optional_address("ENVOY_STATS_ADDR", environ),
        fleet=parse_addresses("ENVOY_UPSTREAMS", environ.get("ENVOY_UPSTREAMS", "")),
        tracing=_tracing(environ),
    )
    upstreams = tuple(_connectable(a) for a in options.fleet) or (_upstream(options),)
    reachable = next((a for a in upstreams if not _loopback(a)), upstreams[0])  # what the prod rule must see
    return replace(options, **_tls_options(env_name, environ, options.listen, reachable))


def write(config: Json, out: Path, options: EdgeOptions | None = None) -> None:
    """Write the configuration to `out` and, given the options it was rendered with, the SDS files it names."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated by scripts/render_envoy.py from envoy.yaml; edit the template, not this file.\n"
    if options is not None:
        for path, secret in envoy_tls.secrets(options.tls, options.upstream_tls, options.sds_dir).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(secret, indent=2) + "\n", encoding="utf-8")
    out.write_text(header + yaml.safe_dump(config, sort_keys=False, width=200), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=os.environ.get("APP_ENV", "dev") or "dev", help="dev or prod")
    parser.add_argument("--out", type=Path, help="default: build/envoy-<env>.yaml")
    parser.add_argument(
        "--fleet", metavar="HOST:PORT,...", help="balance over these server instances (overrides ENVOY_UPSTREAMS)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out or ROOT / "build" / f"envoy-{args.env}.yaml"
    environ = {**os.environ, **({"ENVOY_UPSTREAMS": args.fleet} if args.fleet is not None else {})}
    try:
        options = options_from_env(args.env, environ, sds_dir=out.parent / f"{out.stem}-sds")
        config = render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options)
    except RenderError as err:
        print(f"render_envoy: {err}", file=sys.stderr)
        return 2
    write(config, out, options)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
