"""Configuration is validated at start: one clear line and exit code 2 for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_settings
from tests.support.process import run_server


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.grpc_addr == "127.0.0.1:50051"
    assert settings.database_url.startswith("sqlite+aiosqlite:///var/")
    assert settings.app_env == "dev"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"GRPC_ADDR": "nonsense"}, "GRPC_ADDR"),
        ({"GRPC_ADDR": "127.0.0.1:99999"}, "GRPC_ADDR"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "::::"}, "DATABASE_URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"SHUTDOWN_GRACE_SECONDS": "-1"}, "SHUTDOWN_GRACE_SECONDS"),
        ({"WORKERS": "two"}, "WORKERS"),
        ({"RATE_LIMITS": "Logn=5/minute"}, "RATE_LIMITS"),
        ({"RATE_LIMITS": "Login=often"}, "RATE_LIMITS"),
        ({"RATE_LIMITS": "Login=0/minute"}, "RATE_LIMITS"),
        ({"WORKERS": "2"}, "REDIS_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "TRUSTED_PROXIES"),
        ({"CORS_ORIGINS": "https://a.example/path"}, "CORS_ORIGINS"),
        ({"APP_ENV": "prod", "CORS_ORIGINS": "http://localhost:3000"}, "CORS_ORIGINS"),
    ],
)
def test_bad_value_names_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


def test_parsed_values() -> None:
    settings = load_settings(
        {"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "CORS_ORIGINS": "https://chat.example", "LOG_LEVEL": "debug"}
    )
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert settings.cors_origins == ("https://chat.example",)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize("app_env", ["dev", "prod"])
def test_process_exits_2_with_one_line(app_env: str, tmp_path: Path) -> None:
    result = run_server(
        {"APP_ENV": app_env, "GRPC_ADDR": "nowhere", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "GRPC_ADDR" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_rate_limits_override_single_entries() -> None:
    limits = dict(load_settings({"RATE_LIMITS": "Login=10/minute, default=120/minute"}).rate_limits)
    assert limits["Login"] == "10/minute"
    assert limits["default"] == "120/minute"
    assert limits["Register"] == "3/minute"
