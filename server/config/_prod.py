"""What APP_ENV=prod requires beyond valid values; `weakened` names what a dev start lacks of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy.engine import make_url

from server import secret_strength
from server.config._fields import ConfigError
from server.storage import pg_tls

if TYPE_CHECKING:
    from server.config._settings import Settings

MIN_PROD_API_KEY_CHARS = 32
GOOD_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
DATA_KEY_HINT = "python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'"


def check_prod(settings: Settings) -> None:
    """Raises ConfigError for the first production requirement `settings` does not meet."""
    for _, check in PROD_CHECKS:
        check(settings)


def weakened(settings: Settings) -> tuple[str, ...]:
    """The settings a production start would refuse, by name; a dev start records them as the audit
    event `config_weakened` (issue 18), so a weakened configuration is on the record."""
    names = []
    for name, check in PROD_CHECKS:
        try:
            check(settings)
        except ConfigError:
            names.append(name)
    return tuple(names)


def _check_secret_key(settings: Settings) -> None:
    if settings.secrets.secret_key is None:
        raise ConfigError(f"SECRET_KEY is required when APP_ENV=prod; make one with {GOOD_KEY_HINT}")
    _check_strength("SECRET_KEY", settings.secrets.secret_key)


def _check_previous_keys(settings: Settings) -> None:
    for index, previous in enumerate(settings.secrets.previous_secret_keys):
        _check_strength(f"SECRET_KEY_PREVIOUS entry {index + 1}", previous)


def _check_argon2(settings: Settings) -> None:
    if settings.auth.argon2_time_cost < 3 or settings.auth.argon2_memory_kib < 64 * 1024:
        raise ConfigError("ARGON2_TIME_COST >= 3 and ARGON2_MEMORY_KIB >= 65536 are required when APP_ENV=prod")


def _check_api_keys(settings: Settings) -> None:
    if any(len(spec.key) < MIN_PROD_API_KEY_CHARS for spec in settings.auth.api_keys):
        raise ConfigError(f"API_KEYS keys must have {MIN_PROD_API_KEY_CHARS}+ characters when APP_ENV=prod")
    for spec in settings.auth.api_keys:
        _check_strength(f"API_KEYS key of {spec.name!r}", spec.key.encode())


def _check_data_keys(settings: Settings) -> None:
    hint = f"DATA_KEYS=1:<key>, make the key with {DATA_KEY_HINT}"
    if not settings.data_keys.keys:
        raise ConfigError(f"DATA_KEYS (or DATA_KEYS_FILE) is required when APP_ENV=prod; {hint}")
    for key in settings.data_keys.keys:
        reason = secret_strength.random_key_weakness(key.key)
        if reason is not None:
            raise ConfigError(f"DATA_KEYS key {key.id} is too weak for APP_ENV=prod ({reason}); {hint}")


def _check_strength(name: str, secret: bytes) -> None:
    """The same test for every secret that signs or verifies; the message never contains the secret."""
    reason = secret_strength.weakness(secret.decode())
    if reason is not None:
        raise ConfigError(f"{name} is too weak for APP_ENV=prod ({reason}); make one with {GOOD_KEY_HINT}")


def _check_jwt_keys(settings: Settings) -> None:
    """Ed25519 keys that sign or verify tokens: not published, not small-order, not a patterned seed."""
    tokens = settings.auth.tokens
    if tokens.jwt_private_key_pem is not None:
        key = load_pem_private_key(tokens.jwt_private_key_pem, password=None)
        assert isinstance(key, Ed25519PrivateKey)  # checked when parsed
        reason = secret_strength.ed25519_seed_weakness(
            key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        ) or secret_strength.ed25519_public_weakness(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        if reason is not None:
            raise ConfigError(f"JWT_PRIVATE_KEY_FILE is not safe when APP_ENV=prod ({reason})")
    for index, pem in enumerate(tokens.jwt_public_keys_pem):
        public = load_pem_public_key(pem)
        assert isinstance(public, Ed25519PublicKey)  # checked when parsed
        reason = secret_strength.ed25519_public_weakness(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        if reason is not None:
            raise ConfigError(f"JWT_PUBLIC_KEY_FILES entry {index + 1} is not safe when APP_ENV=prod ({reason})")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "[::1]", "localhost")


def _check_grpc_tls(settings: Settings) -> None:
    """A gRPC port other machines can reach speaks TLS; plaintext only on loopback (behind Envoy)."""
    host = settings.server.grpc_addr.rsplit(":", 1)[0]
    public = not (host in LOOPBACK_HOSTS or host.startswith("127."))
    if public and settings.server.tls_cert_file is None:
        raise ConfigError(
            f"GRPC_ADDR {settings.server.grpc_addr} is reachable from other machines: APP_ENV=prod needs "
            "GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE there, or a loopback address behind Envoy"
        )


def _check_database_tls(settings: Settings) -> None:
    """A PostgreSQL on another machine is reached over TLS that checks its certificate and name."""
    url = make_url(settings.database.url)
    host = url.host or ""
    local = url.get_backend_name() != "postgresql" or host in LOOPBACK_HOSTS or host.startswith(("127.", "/"))
    if not local and not pg_tls.verifies_host(url):
        raise ConfigError(
            f"DATABASE_URL names PostgreSQL on {host}: APP_ENV=prod needs sslmode=verify-full and sslrootcert "
            "there (TLS that checks the server's certificate and name)"
        )


# in order; the name is what `weakened` reports
PROD_CHECKS: tuple[tuple[str, Callable[[Settings], None]], ...] = (
    ("SECRET_KEY", _check_secret_key),
    ("SECRET_KEY_PREVIOUS", _check_previous_keys),
    ("JWT_KEYS", _check_jwt_keys),
    ("ARGON2", _check_argon2),
    ("API_KEYS", _check_api_keys),
    ("DATA_KEYS", _check_data_keys),
    ("GRPC_TLS", _check_grpc_tls),
    ("DATABASE_TLS", _check_database_tls),
)
