"""scripts/render_envoy.py: per-environment CORS origins, addresses, limits, static routes, TLS, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.envoy_tls import CIPHER_SUITES
from scripts.render_envoy import (
    DEV_ORIGIN_REGEX,
    ROOT,
    TEMPLATE,
    Address,
    EdgeOptions,
    RenderError,
    main,
    options_from_env,
    render,
    write,
)
from tests.support.pki import Pki, make_pki

Json = dict[str, Any]


def _template() -> Json:
    loaded: Json = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return loaded


def _hcm(config: Json) -> Json:
    hcm: Json = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def _vhost(config: Json) -> Json:
    vhost: Json = _hcm(config)["route_config"]["virtual_hosts"][0]
    return vhost


def _origins(config: Json) -> list[Json]:
    origins: list[Json] = _vhost(config)["typed_per_filter_config"]["envoy.filters.http.cors"][
        "allow_origin_string_match"
    ]
    return origins


def _allowed(config: Json, origin: str) -> bool:
    for matcher in _origins(config):
        if "exact" in matcher and matcher["exact"] == origin:
            return True
        if "safe_regex" in matcher and re.fullmatch(matcher["safe_regex"]["regex"], origin):
            return True
    return False


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost", True),
        ("http://localhost:5173", True),
        ("http://127.0.0.1:8080", True),
        ("https://localhost", False),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example", False),
        ("http://evil.example/http://localhost", False),
        ("https://wuffchat.example", False),
    ],
)
def test_dev_allows_local_origins_only(origin: str, allowed: bool) -> None:
    config = render(_template(), options_from_env("dev", {}))
    assert _allowed(config, origin) is allowed


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


def _tls(pki: Pki) -> dict[str, str]:
    return {"ENVOY_TLS_CERT_FILE": str(pki.server_cert), "ENVOY_TLS_KEY_FILE": str(pki.server_key)}


def test_prod_allows_exactly_the_configured_origins(pki: Pki) -> None:
    env = {"CORS_ORIGINS": "https://wuffchat.example, https://app.wuffchat.example:8443", **_tls(pki)}
    config = render(_template(), options_from_env("prod", env))
    assert _origins(config) == [{"exact": "https://wuffchat.example"}, {"exact": "https://app.wuffchat.example:8443"}]
    assert not _allowed(config, "http://localhost:5173")


def test_template_dev_regex_matches_the_script() -> None:
    """The template is a valid dev configuration on its own; both must agree on the dev origins."""
    assert _origins(_template()) == [{"safe_regex": {"regex": DEV_ORIGIN_REGEX}}]


@pytest.mark.parametrize(
    ("env", "environ", "variable"),
    [
        ("prod", {}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "http://wuffchat.example"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://localhost:8443"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://127.0.0.2"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://wuffchat.example,https://[::1]:8443"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://app.localhost"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://0.0.0.0"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://[fe80::1]"}, "CORS_ORIGINS"),
        ("prod", {"CORS_ORIGINS": "https://u@wuffchat.example"}, "CORS_ORIGINS"),
        ("dev", {"CORS_ORIGINS": "https://a.example/path"}, "CORS_ORIGINS"),
        ("dev", {"GRPC_ADDR": "nonsense"}, "GRPC_ADDR"),
        ("dev", {"ENVOY_ADDR": "127.0.0.1:99999"}, "ENVOY_ADDR"),
        ("dev", {"MAX_REQUEST_BYTES": "12"}, "MAX_REQUEST_BYTES"),
        ("staging", {}, "APP_ENV"),
    ],
)
def test_bad_input_names_the_variable(env: str, environ: dict[str, str], variable: str) -> None:
    with pytest.raises(RenderError, match=variable):
        options_from_env(env, environ)


def test_admin_must_be_loopback() -> None:
    with pytest.raises(RenderError, match="ENVOY_ADMIN_ADDR"):
        render(_template(), EdgeOptions(admin=Address("0.0.0.0", 9901)))


def test_addresses_and_limits() -> None:
    env = {
        "ENVOY_ADDR": "0.0.0.0:9000",
        "ENVOY_ADMIN_ADDR": "127.0.0.1:9902",
        "GRPC_ADDR": "[::]:50052",
        "MAX_REQUEST_BYTES": "131072",
    }
    config = render(_template(), options_from_env("dev", env))
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 9000}
    assert config["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9902}
    cluster = config["static_resources"]["clusters"][0]
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "::1", "port_value": 50052}  # any-address -> loopback
    assert cluster["type"] == "STATIC"
    buffer = next(f for f in _hcm(config)["http_filters"] if f["name"] == "envoy.filters.http.buffer")
    assert buffer["typed_config"]["max_request_bytes"] > 131072


def test_hostname_upstream_uses_dns() -> None:
    config = render(_template(), options_from_env("dev", {"GRPC_ADDR": "wuffchat-server:50051"}))
    assert config["static_resources"]["clusters"][0]["type"] == "STRICT_DNS"


def test_static_files_become_get_routes_before_the_catch_all(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "app.js").write_text("console.log(1)")
    (tmp_path / "notes.txt").write_text("not served")
    config = render(_template(), options_from_env("dev", {}, static_dir=tmp_path))
    routes = _vhost(config)["routes"]
    static = [r for r in routes if "path" in r["match"]]
    assert sorted(r["match"]["path"] for r in static) == ["/", "/app.js", "/index.html"]
    assert routes[-1]["match"] == {"prefix": "/"}  # the 404 stays last
    js = next(r for r in static if r["match"]["path"] == "/app.js")
    assert js["direct_response"]["body"]["filename"] == str((tmp_path / "app.js").resolve())
    assert {"header": {"key": "content-type", "value": "text/javascript; charset=utf-8"}} in js[
        "response_headers_to_add"
    ]


def test_no_static_routes_without_a_build(tmp_path: Path) -> None:
    config = render(_template(), options_from_env("dev", {}, static_dir=tmp_path))
    assert [r for r in _vhost(config)["routes"] if "path" in r["match"]] == []


def test_main_writes_the_file_and_exits_2_on_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    out = tmp_path / "envoy-dev.yaml"
    assert main(["--env", "dev", "--out", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert main(["--env", "prod", "--out", str(tmp_path / "p.yaml")]) == 2
    assert "CORS_ORIGINS" in capsys.readouterr().err
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize("origin", ["https://127.0.0.2", "http://[::1]:8080", "https://wuffchat.example/app"])
def test_script_refuses_local_origins_in_prod(tmp_path: Path, origin: str) -> None:
    """Run as `make envoy` does: a separate process, exit 2, one line naming CORS_ORIGINS, nothing written."""
    out = tmp_path / "p.yaml"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_envoy.py"), "--env", "prod", "--out", str(out)],
        env={**os.environ, "CORS_ORIGINS": origin},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "CORS_ORIGINS" in result.stderr, result.stderr
    assert not out.exists()


def _hsts_anywhere(hcm: Json) -> bool:
    return "strict-transport-security" in json.dumps(hcm)


def test_dev_is_plain_and_sends_no_hsts() -> None:
    config = render(_template(), options_from_env("dev", {}))
    listeners = config["static_resources"]["listeners"]
    assert len(listeners) == 1 and "transport_socket" not in listeners[0]["filter_chains"][0]
    assert not _hsts_anywhere(_hcm(config))
    assert "transport_socket" not in config["static_resources"]["clusters"][0]


def test_prod_serves_https_redirects_plain_http_and_verifies_the_server(pki: Pki, tmp_path: Path) -> None:
    env = {
        "ENVOY_ADDR": "0.0.0.0:443",
        "GRPC_ADDR": "wuffchat-server:50051",
        "CORS_ORIGINS": "https://wuffchat.example",
        "ENVOY_UPSTREAM_CA_FILE": str(pki.ca),
        "ENVOY_UPSTREAM_CERT_FILE": str(pki.client_cert),
        "ENVOY_UPSTREAM_KEY_FILE": str(pki.client_key),
        **_tls(pki),
    }
    options = options_from_env("prod", env, sds_dir=tmp_path / "sds")
    config = render(_template(), options)
    edge, redirect = config["static_resources"]["listeners"]
    context = edge["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"]
    assert context["tls_params"]["tls_minimum_protocol_version"] == "TLSv1_2"
    assert context["tls_params"]["tls_maximum_protocol_version"] == "TLSv1_3"
    assert context["tls_params"]["cipher_suites"] == list(CIPHER_SUITES)
    assert all("GCM" in c or "CHACHA20" in c for c in CIPHER_SUITES) and all("ECDHE" in c for c in CIPHER_SUITES)
    assert context["alpn_protocols"] == ["h2", "http/1.1"]
    sds = context["tls_certificate_sds_secret_configs"][0]["sds_config"]["path_config_source"]["path"]
    assert _hsts_anywhere(_hcm(config))
    # The plain listener: port 80 of the same host, one redirect route, no HSTS.
    assert redirect["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 80}
    redirect_hcm = redirect["filter_chains"][0]["filters"][0]["typed_config"]
    (route,) = redirect_hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert route["redirect"] == {"https_redirect": True, "response_code": "PERMANENT_REDIRECT"}  # 443: no port
    assert "transport_socket" not in redirect["filter_chains"][0] and not _hsts_anywhere(redirect_hcm)
    # To the server: TLS 1.2+, h2, the server name checked and sent as SNI, Envoy's client certificate.
    upstream = config["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
    assert upstream["sni"] == "wuffchat-server"
    common = upstream["common_tls_context"]
    assert common["alpn_protocols"] == ["h2"]
    sans = common["combined_validation_context"]["default_validation_context"]["match_typed_subject_alt_names"]
    assert sans == [{"san_type": "DNS", "matcher": {"exact": "wuffchat-server"}}]
    assert len(common["tls_certificate_sds_secret_configs"]) == 1
    # The SDS files name the certificate files, and exist once written.
    write(config, tmp_path / "envoy.yaml", options)
    secret = json.loads(Path(sds).read_text())["resources"][0]
    assert secret["tls_certificate"]["certificate_chain"]["filename"] == str(pki.server_cert.resolve())
    assert secret["tls_certificate"]["watched_directory"] == {"path": str(pki.server_cert.resolve().parent)}
    assert sorted(p.name for p in (tmp_path / "sds").iterdir()) == [
        "edge_certificate.json",
        "upstream_ca.json",
        "upstream_client_certificate.json",
    ]


def test_an_ip_upstream_is_checked_against_an_ip_san(pki: Pki) -> None:
    options = options_from_env("dev", {"ENVOY_UPSTREAM_CA_FILE": str(pki.ca), "GRPC_ADDR": "0.0.0.0:50051"})
    upstream = render(_template(), options)["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
    assert "sni" not in upstream
    validation = upstream["common_tls_context"]["combined_validation_context"]["default_validation_context"]
    assert validation["match_typed_subject_alt_names"] == [
        {"san_type": "IP_ADDRESS", "matcher": {"exact": "127.0.0.1"}}
    ]


@pytest.mark.parametrize(
    ("env", "environ", "variable"),
    [
        ("prod", {}, "ENVOY_TLS_CERT_FILE"),
        ("dev", {"ENVOY_TLS_CERT_FILE": "{server_cert}"}, "ENVOY_TLS_KEY_FILE"),
        (
            "dev",
            {"ENVOY_TLS_CERT_FILE": "/nonexistent.pem", "ENVOY_TLS_KEY_FILE": "{server_key}"},
            "ENVOY_TLS_CERT_FILE",
        ),
        ("dev", {"ENVOY_REDIRECT_ADDR": "127.0.0.1:8081"}, "ENVOY_REDIRECT_ADDR"),
        (
            "dev",
            {"ENVOY_UPSTREAM_CERT_FILE": "{client_cert}", "ENVOY_UPSTREAM_KEY_FILE": "{client_key}"},
            "ENVOY_UPSTREAM_CA_FILE",
        ),
        ("dev", {"ENVOY_UPSTREAM_SERVER_NAME": "wuffchat-server"}, "ENVOY_UPSTREAM_CA_FILE"),
        ("dev", {"GRPC_TLS_CERT_FILE": "{server_cert}"}, "ENVOY_UPSTREAM_CA_FILE"),
        ("dev", {"GRPC_TLS_CLIENT_CA_FILE": "{ca}", "ENVOY_UPSTREAM_CA_FILE": "{ca}"}, "ENVOY_UPSTREAM_CERT_FILE"),
        ("prod", {"GRPC_ADDR": "10.0.0.5:50051"}, "ENVOY_UPSTREAM_CA_FILE"),
    ],
    ids=[
        "prod-without-tls",
        "cert-without-key",
        "unreadable-cert",
        "redirect-without-tls",
        "client-cert-without-ca",
        "server-name-without-ca",
        "tls-server-plain-envoy",
        "mtls-server-no-client-cert",
        "prod-remote-plain-upstream",
    ],
)
def test_tls_mistakes_name_the_variable(pki: Pki, env: str, environ: dict[str, str], variable: str) -> None:
    base = {"CORS_ORIGINS": "https://wuffchat.example", **(_tls(pki) if env == "prod" and environ else {})}
    values = {name: value.format(**vars(pki)) for name, value in environ.items()}
    with pytest.raises(RenderError, match=variable) as error:
        options_from_env(env, {**base, **values})
    assert "\n" not in str(error.value)
