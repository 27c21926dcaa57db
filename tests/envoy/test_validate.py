"""`envoy --mode validate` accepts the template and its renderings for dev and prod."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.render_envoy import TEMPLATE, options_from_env, render, write
from tests.support.envoy import validate

ENVIRONMENTS = {
    "dev": {},
    "prod": {
        "ENVOY_ADDR": "0.0.0.0:8080",
        "GRPC_ADDR": "wuffchat-server:50051",
        "CORS_ORIGINS": "https://wuffchat.example,https://www.wuffchat.example",
    },
}


def test_template_is_valid() -> None:
    result = validate(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_rendered_config_is_valid(env: str, tmp_path: Path) -> None:
    options = options_from_env(env, ENVIRONMENTS[env])
    out = tmp_path / f"envoy-{env}.yaml"
    write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), out)
    result = validate(out)
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_config_is_rejected(tmp_path: Path) -> None:
    """The validation step itself can fail: a filter with an unknown field does not pass."""
    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    config["static_resources"]["clusters"][0]["no_such_field"] = 1
    out = tmp_path / "broken.yaml"
    write(config, out)
    assert validate(out).returncode != 0
