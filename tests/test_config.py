"""Configuration is validated at start: one clear line and exit code 2 for a bad value."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from server.app import _server_options
from server.config import ConfigError, load_settings, weakened
from tests.support.process import run_server
from tests.support.prod import prod_env

GOOD = secrets.token_urlsafe(48)


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.server.grpc_addr == "127.0.0.1:50051"
    assert settings.database.url.startswith("sqlite+aiosqlite:///var/")
    assert settings.app_env == "dev"
    retention = (settings.retention.conversation_days, settings.retention.contact_days, settings.retention.audit_days)
    assert retention == (180, 90, 365)  # SPEC.md section 10


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
        ({"AUTH_FAILURE_LIMIT": "often"}, "AUTH_FAILURE_LIMIT"),
        ({"AUTH_FAILURE_LIMIT": "0/minute"}, "AUTH_FAILURE_LIMIT"),
        ({"WORKERS": "2"}, "REDIS_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "TRUSTED_PROXIES"),
        ({"CORS_ORIGINS": "https://a.example/path"}, "CORS_ORIGINS"),
        ({"APP_ENV": "prod", "CORS_ORIGINS": "http://localhost:3000"}, "CORS_ORIGINS"),
        ({"RETENTION_CONVERSATION_DAYS": "0"}, "RETENTION_CONVERSATION_DAYS"),
        ({"RETENTION_CONTACT_DAYS": "ninety"}, "RETENTION_CONTACT_DAYS"),
        ({"RETENTION_AUDIT_DAYS": "-365"}, "RETENTION_AUDIT_DAYS"),
        ({"RETENTION_INTERVAL_SECONDS": "0"}, "RETENTION_INTERVAL_SECONDS"),
        ({"WEAVIATE_URL": "localhost:8080"}, "WEAVIATE_URL"),
        ({"WEAVIATE_URL": "http://weaviate:80a"}, "WEAVIATE_URL"),
        ({"WEAVIATE_URL": "http://weaviate:8080/v1"}, "WEAVIATE_URL"),
        ({"WEAVIATE_GRPC_PORT": "0"}, "WEAVIATE_GRPC_PORT"),
        ({"REQUEST_RECEIVE_TIMEOUT_SECONDS": "0"}, "REQUEST_RECEIVE_TIMEOUT_SECONDS"),
        ({"MAX_WAITING_REQUESTS": "0"}, "MAX_WAITING_REQUESTS"),
        ({"MAX_STREAMS_PER_CONNECTION": "many"}, "MAX_STREAMS_PER_CONNECTION"),
        ({"MAX_CONNECTION_IDLE_SECONDS": "0"}, "MAX_CONNECTION_IDLE_SECONDS"),
        ({"MAX_CONNECTION_AGE_SECONDS": "forever"}, "MAX_CONNECTION_AGE_SECONDS"),
        ({"MAX_CONNECTION_AGE_GRACE_SECONDS": "-1"}, "MAX_CONNECTION_AGE_GRACE_SECONDS"),
        ({"MEMORY_TRIM_INTERVAL_SECONDS": "-1"}, "MEMORY_TRIM_INTERVAL_SECONDS"),
    ],
)
def test_bad_value_names_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


def test_parsed_values() -> None:
    settings = load_settings(
        {"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "CORS_ORIGINS": "https://chat.example", "LOG_LEVEL": "debug"}
    )
    assert [str(n) for n in settings.edge.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert settings.edge.cors_origins == ("https://chat.example",)
    assert settings.server.log_level == "DEBUG"


def test_connection_limits_reach_grpc_core() -> None:
    settings = load_settings(
        {
            "MAX_STREAMS_PER_CONNECTION": "50",
            "MAX_CONNECTION_IDLE_SECONDS": "120",
            "MAX_CONNECTION_AGE_SECONDS": "600",
            "MAX_CONNECTION_AGE_GRACE_SECONDS": "30",
        }
    )
    options = dict(_server_options(settings))
    assert options["grpc.max_concurrent_streams"] == 50
    assert options["grpc.max_connection_idle_ms"] == 120_000
    assert options["grpc.max_connection_age_ms"] == 600_000
    assert options["grpc.max_connection_age_grace_ms"] == 30_000


def test_auth_failure_limit() -> None:
    assert load_settings({}).limits.auth_failure_limit == "20/minute"
    assert load_settings({"AUTH_FAILURE_LIMIT": "50/5 minutes"}).limits.auth_failure_limit == "50/5 minutes"


def test_retention_values() -> None:
    settings = load_settings(
        {"RETENTION_CONVERSATION_DAYS": "30", "RETENTION_CONTACT_DAYS": "7", "RETENTION_AUDIT_DAYS": "730"}
    )
    assert (settings.retention.conversation_days, settings.retention.contact_days) == (30, 7)
    assert settings.retention.audit_days == 730


def test_weaviate_values() -> None:
    assert (load_settings({}).knowledge.weaviate_url, load_settings({}).knowledge.weaviate_grpc_port) == (None, 50051)
    settings = load_settings({"WEAVIATE_URL": "https://weaviate.example:8443", "WEAVIATE_GRPC_PORT": "50052"})
    assert (settings.knowledge.weaviate_url, settings.knowledge.weaviate_grpc_port) == (
        "https://weaviate.example:8443",
        50052,
    )


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
    limits = dict(load_settings({"RATE_LIMITS": "Login=10/minute, default=120/minute"}).limits.rate_limits)
    assert limits["Login"] == "10/minute"
    assert limits["default"] == "120/minute"
    assert limits["Register"] == "3/minute"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SECRET_KEY": "too short"}, "SECRET_KEY"),
        ({"SECRET_KEY_PREVIOUS": "ok-but-the-second-is-short-xxxxxxxxxxxxx,short"}, "SECRET_KEY_PREVIOUS"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM"),
        ({"JWT_ALGORITHM": "EdDSA"}, "JWT_PRIVATE_KEY_FILE"),
        ({"JWT_PRIVATE_KEY_FILE": "/no/such/file.pem"}, "JWT_PRIVATE_KEY_FILE"),
        ({"API_KEYS": "svc:root:0123456789abcdef"}, "API_KEYS"),
        ({"API_KEYS": "svc:service:short"}, "API_KEYS"),
        ({"API_KEYS": "bad name:service:0123456789abcdef"}, "API_KEYS"),
        ({"API_KEYS": "a:service:0123456789abcdef,a:admin:0123456789abcdeg"}, "API_KEYS"),
        ({"CAPTCHA_MAX_NUMBER": "1"}, "CAPTCHA_MAX_NUMBER"),
        ({"ARGON2_MEMORY_KIB": "1024"}, "ARGON2_MEMORY_KIB"),
        ({"LOGIN_MAX_FAILURES": "0"}, "LOGIN_MAX_FAILURES"),
        ({"WORKERS": "2", "REDIS_URL": "redis://127.0.0.1:6379"}, "SECRET_KEY"),
    ],
)
def test_bad_auth_value_names_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names) as err:
        load_settings(env)
    assert "0123456789abcde" not in str(err.value)  # an API key is never echoed


def test_auth_values(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    (tmp_path / "k.pem").write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    old = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "old.pem").write_bytes(old.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    settings = load_settings(
        {
            "JWT_ALGORITHM": "EdDSA",
            "JWT_PRIVATE_KEY_FILE": str(tmp_path / "k.pem"),
            "JWT_PUBLIC_KEY_FILES": str(tmp_path / "old.pem"),
            "API_KEYS": "crawler:service:0123456789abcdef, ops:admin:fedcba9876543210",
        }
    )
    assert settings.auth.tokens.jwt_algorithm == "EdDSA" and len(settings.auth.tokens.jwt_public_keys_pem) == 1
    assert [(k.name, k.role) for k in settings.auth.api_keys] == [("crawler", "service"), ("ops", "admin")]
    assert "0123456789abcdef" not in repr(settings) and settings.secrets.key not in repr(settings).encode()
    assert settings.secrets.is_ephemeral and len(settings.secrets.key) == 32
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY_FILES"):
        load_settings({"JWT_PUBLIC_KEY_FILES": str(tmp_path / "k.pem")})  # a private key is no public key


def _write_public(path: Path, raw: bytes) -> str:
    public = Ed25519PublicKey.from_public_bytes(raw)
    path.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def _write_private(path: Path, seed: bytes | None = None) -> str:
    key = Ed25519PrivateKey.generate() if seed is None else Ed25519PrivateKey.from_private_bytes(seed)
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return str(path)


RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
IDENTITY_POINT = bytes([1]) + bytes(31)  # as a public key it accepts a forged signature for any message


@pytest.mark.parametrize(
    ("env", "variable", "secret"),
    [
        ({"SECRET_KEY_PREVIOUS": "a" * 40}, "SECRET_KEY_PREVIOUS", "a" * 40),
        ({"SECRET_KEY_PREVIOUS": f"{GOOD}, passwordpassword1234567890123456"}, "SECRET_KEY_PREVIOUS entry 2", "passw"),
        ({"SECRET_KEY": "0123456789012345678901234567890123456789"}, "SECRET_KEY", "0123456789"),
        ({"SECRET_KEY": "passwordpassword1234567890123456"}, "SECRET_KEY", "passw"),
        ({"SECRET_KEY": "MySecretKeyForWuffChatProduction2024!"}, "SECRET_KEY", "MySecret"),
        ({"SECRET_KEY": "k3Y-for-tests-only_9fQ2xZ7wL1mN8vB4cR6tY0uI5oP"}, "SECRET_KEY", "k3Y-for"),
        ({"API_KEYS": "crawler:service:wck_test-admin-key-0123456789abcdefghijklmnopq"}, "API_KEYS", "wck_test"),
        ({"JWT_PUBLIC_KEY_FILES": "{identity}"}, "JWT_PUBLIC_KEY_FILES", ""),
        ({"JWT_PUBLIC_KEY_FILES": "{fresh_public},{rfc_public}"}, "JWT_PUBLIC_KEY_FILES entry 2", ""),
        ({"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": "{rfc_private}"}, "JWT_PRIVATE_KEY_FILE", ""),
        ({"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": "{zero_private}"}, "JWT_PRIVATE_KEY_FILE", ""),
        ({"CORS_ORIGINS": ""}, "CORS_ORIGINS", ""),
        ({"CORS_ORIGINS": "http://[::1]:8080"}, "CORS_ORIGINS", ""),
        ({"CORS_ORIGINS": "https://chat.example,https://127.0.0.2"}, "CORS_ORIGINS", ""),
    ],
)
def test_prod_process_refuses_weak_keys_and_local_origins(
    tmp_path: Path, env: dict[str, str], variable: str, secret: str
) -> None:
    files = {
        "identity": _write_public(tmp_path / "identity.pem", IDENTITY_POINT),
        "fresh_public": _write_public(tmp_path / "fresh.pem", _raw_public(Ed25519PrivateKey.generate())),
        "rfc_public": _write_public(
            tmp_path / "rfc.pem", _raw_public(Ed25519PrivateKey.from_private_bytes(RFC8032_SEED))
        ),
        "rfc_private": _write_private(tmp_path / "rfc-private.pem", RFC8032_SEED),
        "zero_private": _write_private(tmp_path / "zero-private.pem", bytes(32)),
    }
    full = prod_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/p.db", **{k: v.format(**files) for k, v in env.items()}
    )
    result = run_server(full, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{variable} " in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    if secret:
        assert secret not in result.stderr + result.stdout


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_prod_accepts_strong_keys(tmp_path: Path) -> None:
    settings = load_settings(
        prod_env(
            SECRET_KEY_PREVIOUS=f"{GOOD},{secrets.token_hex(32)}",
            JWT_ALGORITHM="EdDSA",
            JWT_PRIVATE_KEY_FILE=_write_private(tmp_path / "k.pem"),
            JWT_PUBLIC_KEY_FILES=_write_public(tmp_path / "old.pem", _raw_public(Ed25519PrivateKey.generate())),
            API_KEYS=f"crawler:service:{secrets.token_urlsafe(32)}",
            CORS_ORIGINS="https://chat.wuffchat.example, https://www.wuffchat.example:8443",
        )
    )
    assert len(settings.secrets.previous_secret_keys) == 2 and len(settings.auth.tokens.jwt_public_keys_pem) == 1
    assert settings.edge.cors_origins == ("https://chat.wuffchat.example", "https://www.wuffchat.example:8443")


def _key_entry(key_id: int, raw: bytes) -> str:
    return f"{key_id}:{base64.b64encode(raw).decode()}"


def test_data_keys_first_entry_is_active_and_file_works(tmp_path: Path) -> None:
    two, one = secrets.token_bytes(32), secrets.token_bytes(32)
    settings = load_settings({"DATA_KEYS": f"{_key_entry(2, two)},{_key_entry(1, one)}"})
    assert [(k.id, k.key) for k in settings.data_keys.keys] == [(2, two), (1, one)]
    assert repr(two) not in repr(settings) and "DataKey" not in repr(settings)
    path = tmp_path / "keys"
    path.write_text(f"{_key_entry(2, two)}\n{_key_entry(1, one)}\n")
    assert load_settings({"DATA_KEYS_FILE": str(path)}).data_keys.keys == settings.data_keys.keys
    assert load_settings({}).data_keys.keys == (), "dev without keys: var/data-keys is made at start"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATA_KEYS \\(or DATA_KEYS_FILE\\) is required when APP_ENV=prod"),
        ({"DATA_KEYS": _key_entry(1, bytes(32))}, "DATA_KEYS key 1 is too weak"),
        ({"DATA_KEYS": _key_entry(1, bytes(range(32)))}, "DATA_KEYS key 1 is too weak"),
        ({"DATA_KEYS": "1:dG9vIHNob3J0"}, "DATA_KEYS entry 1 must be"),
        ({"DATA_KEYS_FILE": "/no/such/keys"}, "DATA_KEYS_FILE"),
    ],
)
def test_prod_data_keys(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(prod_env(**{"DATA_KEYS": "", **env}))
    assert "dG9vIHNob3J0" not in str(caught.value)


def test_prod_without_data_keys_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_server(prod_env(DATA_KEYS="", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "DATA_KEYS" in result.stderr and "Traceback" not in result.stderr


def test_weakened_names_what_prod_would_refuse() -> None:
    assert weakened(load_settings({})) == ("SECRET_KEY", "DATA_KEYS")
    assert weakened(load_settings({"ARGON2_TIME_COST": "1", "SECRET_KEY": "x" * 40})) == (
        "SECRET_KEY",
        "ARGON2",
        "DATA_KEYS",
    )
    assert weakened(load_settings(prod_env())) == ()
