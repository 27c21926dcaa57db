"""Secrets from files (`<NAME>_FILE`), the APP_ENV=test bounds, and settings that cannot be built invalid."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from server.config import AuthSettings, ConfigError, EdgeSettings, load_group, load_settings
from tests.support.process import run_server
from tests.support.prod import prod_env

GOOD = secrets.token_urlsafe(48)
OTHER = secrets.token_urlsafe(48)


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("SECRET_KEY", GOOD, lambda s: s.secrets.key.decode()),
        (
            "SECRET_KEY_PREVIOUS",
            f"{GOOD}\n{OTHER}",
            lambda s: ",".join(k.decode() for k in s.secrets.previous_secret_keys),
        ),
        (
            "API_KEYS",
            f"a:service:{GOOD}\nb:admin:{OTHER}",
            lambda s: ",".join(f"{k.name}:{k.role}:{k.key}" for k in s.auth.api_keys),
        ),
        ("OPENAI_API_KEY", "sk-test-0123456789", lambda s: s.openai.api_key),
        ("DATABASE_URL", "postgresql+asyncpg://u:pw@db:5432/w", lambda s: s.database.url),
        ("REDIS_URL", "rediss://:pw@redis:6380/0", lambda s: s.limits.redis_url),
    ],
)
def test_secret_from_file_without_its_trailing_newline(tmp_path: Path, name: str, value: str, read: object) -> None:
    path = tmp_path / name.lower()
    path.write_text(value + "\n")
    settings = load_settings({f"{name}_FILE": str(path)})
    assert read(settings) == value.replace("\n", ",")  # type: ignore[operator]


@pytest.mark.parametrize("name", ["SECRET_KEY", "API_KEYS", "DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "DATA_KEYS"])
def test_variable_and_its_file_both_set_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "value"
    path.write_text("never shown 0123456789abcdef0123456789abcdef")
    with pytest.raises(ConfigError, match=f"^set {name} or {name}_FILE, not both$") as err:
        load_settings({name: "the variable's value", f"{name}_FILE": str(path)})
    assert "never shown" not in str(err.value) and "the variable's value" not in str(err.value)


def test_unreadable_file_names_the_variable_never_the_content(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("SECRET_KEY_FILE: cannot read '/no/such/secret'")):
        load_settings({"SECRET_KEY_FILE": "/no/such/secret"})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe not text")
    with pytest.raises(ConfigError, match=r"^API_KEYS_FILE: cannot read"):
        load_settings({"API_KEYS_FILE": str(binary)})


def test_invalid_value_from_a_file_names_the_file_variable(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("short secret\n")
    with pytest.raises(ConfigError) as err:
        load_settings({"SECRET_KEY_FILE": str(path)})
    assert str(err.value) == "SECRET_KEY (from SECRET_KEY_FILE) must be at least 32 bytes long"


def test_prod_process_reads_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(GOOD + "\n")
    env = prod_env(SECRET_KEY="", SECRET_KEY_FILE=str(tmp_path / "key"), API_KEYS_FILE="/no/such/file")
    result = run_server({**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "wuffchat: configuration error: API_KEYS_FILE: cannot read '/no/such/file'"
    ]


@pytest.mark.parametrize("name", ["ACCESS_TOKEN_TTL_SECONDS", "REFRESH_TOKEN_TTL_SECONDS"])
def test_short_lifetimes_only_with_app_env_test(name: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be between .* got 1 \\(lower only with APP_ENV=test\\)$"):
        load_settings({name: "1"})
    with pytest.raises(ConfigError, match=name):
        load_settings(prod_env(**{name: "1"}))
    assert load_settings({"APP_ENV": "test", name: "1"}).app_env == "test"
    with pytest.raises(ConfigError, match=name):
        load_settings({"APP_ENV": "test", name: "0"})  # the test floor is a bound too


def test_groups_validate_when_built_in_code() -> None:
    assert AuthSettings(ARGON2_TIME_COST=4).argon2_time_cost == 4
    with pytest.raises(ValueError, match="ARGON2_MEMORY_KIB"):
        AuthSettings(ARGON2_MEMORY_KIB=1024)
    settings = load_settings({})
    with pytest.raises(ValueError, match="frozen"):
        settings.auth.argon2_time_cost = 1  # type: ignore[misc]


def test_one_group_loads_alone_with_the_same_rules() -> None:
    """A tool that needs one group (Envoy's renderer: the request cap) reads it with the server's rules."""
    assert (
        load_group(EdgeSettings, {"MAX_REQUEST_BYTES": "131072", "SECRET_KEY": "ignored"}).max_request_bytes == 131072
    )
    assert load_group(EdgeSettings, {}).max_request_bytes == EdgeSettings().max_request_bytes
    with pytest.raises(ConfigError, match=r"^MAX_REQUEST_BYTES must be between 1024 and 16777216, got 12$"):
        load_group(EdgeSettings, {"MAX_REQUEST_BYTES": "12"})
