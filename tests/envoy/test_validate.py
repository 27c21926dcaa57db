"""`envoy --mode validate` accepts the template and its renderings for dev and prod (prod with TLS on the
listener, the redirect listener and mutual TLS to the server, from certificates made at test time)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.render_envoy import TEMPLATE, options_from_env, render, write
from tests.support.envoy import validate
from tests.support.pki import Pki

ENVIRONMENTS = {
    "dev": {},
    "prod": {
        "ENVOY_ADDR": "0.0.0.0:8443",
        "GRPC_ADDR": "wuffchat-server:50051",
        "CORS_ORIGINS": "https://wuffchat.example,https://www.wuffchat.example",
        "ENVOY_TLS_CERT_FILE": "{server_cert}",
        "ENVOY_TLS_KEY_FILE": "{server_key}",
        "ENVOY_UPSTREAM_CA_FILE": "{ca}",
        "ENVOY_UPSTREAM_CERT_FILE": "{client_cert}",
        "ENVOY_UPSTREAM_KEY_FILE": "{client_key}",
    },
}


def environment(env: str, pki: Pki) -> dict[str, str]:
    """ENVIRONMENTS[env] with the PKI's files."""
    return {name: value.format(**vars(pki)) for name, value in ENVIRONMENTS[env].items()}


def test_template_is_valid() -> None:
    result = validate(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_rendered_config_is_valid(env: str, tmp_path: Path, edge_pki: Pki) -> None:
    options = options_from_env(env, environment(env, edge_pki), sds_dir=tmp_path / "sds")
    out = tmp_path / f"envoy-{env}.yaml"
    write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), out, options)
    result = validate(out)
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_config_is_rejected(tmp_path: Path) -> None:
    """The validation step itself can fail: a filter with an unknown field does not pass."""
    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    config["static_resources"]["clusters"][0]["no_such_field"] = 1
    out = tmp_path / "broken.yaml"
    write(config, out)
    assert validate(out).returncode != 0
