"""Render envoy.yaml for one environment into build/envoy-<env>.yaml (called by `make envoy`).

The template is the development configuration. Rendering sets the listener, admin and upstream
addresses, the CORS origins (dev: http://localhost and http://127.0.0.1 on any port; prod: exactly
`CORS_ORIGINS`, checked by the server's own validator, server/origins.py), the request size cap, and
one direct-response route per file of the built web client (clients/web/dist), so the page and the API
share one origin. Bad input exits with code 2 and one line naming the variable.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from server import origins
from server.config import ConfigError, EdgeSettings, load_group

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


def _loopback(address: Address) -> bool:
    try:
        return ipaddress.ip_address(address.host).is_loopback
    except ValueError:
        return address.host == "localhost"


def _socket_address(address: Address) -> Json:
    return {"socket_address": {"address": address.host, "port_value": address.port}}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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

    cluster = _named(config["static_resources"]["clusters"], "wuffchat_grpc")
    upstream = Address(_ANY_HOST.get(options.upstream.host, options.upstream.host), options.upstream.port)
    cluster["type"] = "STATIC" if _is_ip(upstream.host) else "STRICT_DNS"
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] = _socket_address(upstream)
    return config


def options_from_env(env_name: str, environ: Mapping[str, str], *, static_dir: Path | None = WEB_DIST) -> EdgeOptions:
    """EdgeOptions from ENVOY_ADDR, ENVOY_ADMIN_ADDR, GRPC_ADDR, CORS_ORIGINS and MAX_REQUEST_BYTES.

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
    return EdgeOptions(
        env=env_name,
        listen=parse_address("ENVOY_ADDR", environ.get("ENVOY_ADDR", "") or "127.0.0.1:8080"),
        admin=parse_address("ENVOY_ADMIN_ADDR", environ.get("ENVOY_ADMIN_ADDR", "") or "127.0.0.1:9901"),
        upstream=parse_address("GRPC_ADDR", environ.get("GRPC_ADDR", "") or "127.0.0.1:50051"),
        cors_origins=parse_origins(env_name, environ.get("CORS_ORIGINS", "")),
        max_request_bytes=edge.max_request_bytes,
        static_dir=static_dir,
        static_files=files,
    )


def write(config: Json, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated by scripts/render_envoy.py from envoy.yaml; edit the template, not this file.\n"
    out.write_text(header + yaml.safe_dump(config, sort_keys=False, width=200), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=os.environ.get("APP_ENV", "dev") or "dev", help="dev or prod")
    parser.add_argument("--out", type=Path, help="default: build/envoy-<env>.yaml")
    args = parser.parse_args(argv)
    try:
        options = options_from_env(args.env, os.environ)
        config = render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options)
    except RenderError as err:
        print(f"render_envoy: {err}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / f"envoy-{options.env}.yaml"
    write(config, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
