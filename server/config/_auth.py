"""The groups of secrets and accounts: data keys, SECRET_KEY, tokens, login limits and the auth group that
`build_auth` receives (the other groups are in `_groups.py`)."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from pydantic import PrivateAttr

from server.config import _parse
from server.config._fields import DAY, Group, env, from_text
from server.config._parse import ApiKeySpec
from server.storage.keyring import DEV_KEYS_FILE, DataKey, KeyringError, parse_data_keys


def _data_keys(raw: str) -> tuple[DataKey, ...]:
    try:
        return parse_data_keys(raw)
    except KeyringError as exc:
        raise ValueError(str(exc)) from None


class EncryptionSettings(Group):
    """Encryption of personal data at rest (issue 18): the first key seals, all open."""

    keys: Annotated[tuple[DataKey, ...], from_text(_data_keys)] = env(
        "DATA_KEYS",
        (),
        (
            "comma-separated `id:key` data-encryption keys (id 1-999999, key 32 random bytes in "
            "base64); the **first is active** and seals new values, the others only open what they "
            'sealed (rotation, see "Encryption at rest"); required in prod, where each key must not be '
            "patterned or published; in a file (`DATA_KEYS_FILE`) commas or one per line, `#` comments"
        ),
        secret=True,
        shown_default="dev: `var/data-keys`, made once",
    )
    dev_file: str = DEV_KEYS_FILE  # not configurable: where dev keeps its generated keys


class SecretSettings(Group):
    """The key that signs tokens, CAPTCHAs and cursors; previous keys still verify (rotation)."""

    secret_key: Annotated[bytes | None, from_text(_parse.secret)] = env(
        "SECRET_KEY",
        None,
        (
            "32+ bytes; signs HS256 access tokens, CAPTCHAs and page tokens; required with `WORKERS` > "
            "1 and in prod, where it must pass the key check below"
        ),
        secret=True,
        shown_default="random per process (dev)",
    )
    previous_secret_keys: Annotated[tuple[bytes, ...], from_text(_parse.secret_list)] = env(
        "SECRET_KEY_PREVIOUS",
        (),
        (
            "comma-separated older secrets that still verify tokens and CAPTCHAs (rotation); prod: each"
            " passes the same key check as `SECRET_KEY`"
        ),
        secret=True,
    )
    _ephemeral: bytes = PrivateAttr(default_factory=lambda: secrets.token_bytes(_parse.MIN_SECRET_BYTES))

    @property
    def key(self) -> bytes:
        """SECRET_KEY, or this process's random key when it is unset (dev)."""
        return self.secret_key if self.secret_key is not None else self._ephemeral

    @property
    def is_ephemeral(self) -> bool:
        return self.secret_key is None

    @property
    def all_keys(self) -> tuple[bytes, ...]:
        """The signing key first, then the keys that only verify."""
        return (self.key, *self.previous_secret_keys)


class TokenSettings(Group):
    """JWT access tokens and refresh tokens."""

    jwt_algorithm: Literal["HS256", "EdDSA"] = env(
        "JWT_ALGORITHM", "HS256", "`HS256` or `EdDSA`; pinned, never read from a token"
    )
    jwt_private_key_pem: Annotated[bytes | None, from_text(_parse.ed25519_private)] = env(
        "JWT_PRIVATE_KEY_FILE",
        None,
        ("Ed25519 PEM private key that signs (needed with `EdDSA`); prod: not published, seed not a pattern"),
        secret=True,
        file_variant=False,
    )
    jwt_public_keys_pem: Annotated[tuple[bytes, ...], from_text(_parse.ed25519_publics)] = env(
        "JWT_PUBLIC_KEY_FILES",
        (),
        (
            "comma-separated Ed25519 PEM public keys that still verify (rotation); prod: not published "
            "and of large order (a small-order key such as the identity point accepts forged "
            "signatures)"
        ),
    )
    jwt_issuer: str = env("JWT_ISSUER", "wuffchat", "the `iss` every token must carry")
    jwt_audience: str = env("JWT_AUDIENCE", "wuffchat", "the `aud` every token must carry")
    access_token_ttl_seconds: int = env(
        "ACCESS_TOKEN_TTL_SECONDS", 15 * 60, "access-token lifetime", ge=60, le=3600, test_floor=1
    )
    refresh_token_ttl_seconds: int = env(
        "REFRESH_TOKEN_TTL_SECONDS",
        30 * 86400,
        "absolute session lifetime (30 days); rotation never extends it",
        ge=300,
        le=90 * 86400,
        test_floor=1,
    )
    refresh_grace_seconds: float = env(
        "REFRESH_GRACE_SECONDS",
        10.0,
        "a spent refresh token returns its unused successor again within this window",
        ge=0,
        le=120,
    )


class LoginSettings(Group):
    """Failed logins per account and per IP, and the lockout that follows."""

    max_failures: int = env(
        "LOGIN_MAX_FAILURES", 5, "failures per account within the window that lock it", ge=1, le=100
    )
    max_failures_per_ip: int = env(
        "LOGIN_MAX_FAILURES_PER_IP",
        20,
        "failures per client IP within the window that throttle that IP",
        ge=1,
        le=10_000,
    )
    failure_window_seconds: float = env(
        "LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60.0, "the counting window", ge=1, le=7 * DAY
    )
    lockout_seconds: float = env(
        "LOGIN_LOCKOUT_SECONDS",
        15 * 60.0,
        "first lock; each further lock doubles, up to `LOGIN_LOCKOUT_MAX_SECONDS`",
        ge=1,
        le=DAY,
    )
    lockout_max_seconds: float = env("LOGIN_LOCKOUT_MAX_SECONDS", DAY, "longest lock", ge=1, le=30 * DAY)


class AuthSettings(Group):
    """Accounts and credentials: API keys, CAPTCHA, password hashing, tokens, login limits."""

    api_keys: Annotated[tuple[ApiKeySpec, ...], from_text(_parse.api_keys)] = env(
        "API_KEYS",
        (),
        (
            "comma-separated `name:role:key` (role `service` or `admin`); prod: keys of 32+ characters "
            "that pass the key check below"
        ),
        secret=True,
    )
    captcha_max_number: int = env(
        "CAPTCHA_MAX_NUMBER",
        100_000,
        "proof-of-work difficulty (the secret number lies in 0..max)",
        ge=10,
        le=100_000_000,
    )
    captcha_ttl_seconds: int = env("CAPTCHA_TTL_SECONDS", 300, "how long a challenge may be solved", ge=1, le=3600)
    argon2_time_cost: int = env(
        "ARGON2_TIME_COST", 3, "Argon2id passes (RFC 9106 low-memory profile); prod refuses less than 3", ge=1, le=20
    )
    argon2_memory_kib: int = env(
        "ARGON2_MEMORY_KIB",
        64 * 1024,
        "Argon2id memory in KiB; prod refuses less than 65536 (64 MiB)",
        ge=8 * 1024,
        le=4 * 1024 * 1024,
    )
    argon2_parallelism: int = env("ARGON2_PARALLELISM", 4, "Argon2id lanes", ge=1, le=16)
    password_hash_workers: int = env(
        "PASSWORD_HASH_WORKERS",
        2,
        "threads that hash passwords off the event loop (also caps their memory)",
        ge=1,
        le=64,
    )
    tokens: TokenSettings = TokenSettings()
    login: LoginSettings = LoginSettings()
