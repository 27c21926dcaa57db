"""JWT access tokens (PyJWT) with the algorithm pinned by configuration and `kid` chosen among our keys.

HS256 signs with SECRET_KEY (SECRET_KEY_PREVIOUS still verify); EdDSA signs with the Ed25519 key of
JWT_PRIVATE_KEY_FILE (JWT_PUBLIC_KEY_FILES still verify). The algorithm is never taken from the token:
PyJWT gets exactly one allowed algorithm and the key that belongs to the token's `kid`, so `alg: none`
and HS/EdDSA confusion fail. iss, aud, sub, exp, iat, nbf, jti and typ are required and checked; the
times (exp, nbf, iat) against the server's clock (server/clock.py), not PyJWT's wall time, so a test
moves past an expiry instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from server.clock import Clock, system_clock
from server.config import SecretSettings, TokenSettings

REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "nbf", "jti", "typ")
ACCESS = "access"
LEEWAY_SECONDS = 5  # clock skew between workers; far below the 15-minute lifetime

SigningKey = bytes | Ed25519PrivateKey
VerifyingKey = bytes | Ed25519PublicKey


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired, not yet valid, or not an access token."""


@dataclass(frozen=True)
class AccessClaims:
    """The checked content of an access token."""

    subject: str
    roles: frozenset[str]
    session_id: str  # the refresh-token family this token was issued with
    jti: str
    expires_at: int


def key_id(material: bytes, prefix: str) -> str:
    """A stable, non-secret id for a key: a truncated SHA-256 of it (the key itself has 256+ bits)."""
    return f"{prefix}-{hashlib.sha256(b'wuffchat-kid:' + material).hexdigest()[:16]}"


def _ed25519_id(public: Ed25519PublicKey) -> str:
    return key_id(public.public_bytes(Encoding.Raw, PublicFormat.Raw), "ed")


class JwtCodec:
    """Issues and checks access tokens."""

    def __init__(
        self,
        algorithm: str,
        signing: tuple[str, SigningKey],
        verifying: dict[str, VerifyingKey],
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock = system_clock,
    ) -> None:
        self._algorithm = algorithm
        self._signing_kid, self._signing_key = signing
        self._verifying = verifying
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: TokenSettings, secrets: SecretSettings, *, clock: Clock = system_clock
    ) -> JwtCodec:
        signing: tuple[str, SigningKey]
        verifying: dict[str, VerifyingKey] = {}
        if settings.jwt_algorithm == "EdDSA":
            assert settings.jwt_private_key_pem is not None  # load_settings guarantees it
            private = load_pem_private_key(settings.jwt_private_key_pem, password=None)
            assert isinstance(private, Ed25519PrivateKey)
            signing = (_ed25519_id(private.public_key()), private)
            verifying[signing[0]] = private.public_key()
            for pem in settings.jwt_public_keys_pem:
                public = load_pem_public_key(pem)
                assert isinstance(public, Ed25519PublicKey)
                verifying[_ed25519_id(public)] = public
        else:
            signing = (key_id(secrets.key, "hs"), secrets.key)
            for secret in secrets.all_keys:
                verifying[key_id(secret, "hs")] = secret
        return cls(
            settings.jwt_algorithm,
            signing,
            verifying,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
            clock=clock,
        )

    def issue_access(self, subject: str, roles: frozenset[str], session_id: str) -> tuple[str, AccessClaims]:
        """A signed access token for `subject`, valid for the configured lifetime from now."""
        now = self._clock()
        expires = now + timedelta(seconds=self.ttl_seconds)
        claims = AccessClaims(
            subject=subject,
            roles=roles,
            session_id=session_id,
            jti=secrets.token_urlsafe(16),
            expires_at=int(expires.timestamp()),
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": claims.expires_at,
            "jti": claims.jti,
            "typ": ACCESS,
            "sid": session_id,
            "roles": sorted(roles),
        }
        token = jwt.encode(payload, self._signing_key, algorithm=self._algorithm, headers={"kid": self._signing_kid})
        return token, claims

    def decode_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token.

        Raises:
            InvalidTokenError: for any problem; the reason is deliberately not told apart.
        """
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            key = self._verifying.get(kid) if isinstance(kid, str) else None
            if key is None or header.get("alg") != self._algorithm:
                raise InvalidTokenError
            payload = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                # times are checked below, on our clock; PyJWT would read the wall clock
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "strict_aud": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidTokenError from None
        self._check_times(payload)
        return self._claims(payload)

    def _check_times(self, payload: dict[str, Any]) -> None:
        """PyJWT's rules with our clock: expired once `exp` is LEEWAY_SECONDS past, not valid more than
        LEEWAY_SECONDS before `nbf` or `iat`; each must be a number."""
        now = self._clock().timestamp()
        times = [payload[claim] for claim in ("exp", "nbf", "iat")]
        if any(isinstance(t, bool) or not isinstance(t, int | float) for t in times):
            raise InvalidTokenError
        exp, nbf, iat = times
        if exp <= now - LEEWAY_SECONDS or nbf > now + LEEWAY_SECONDS or iat > now + LEEWAY_SECONDS:
            raise InvalidTokenError

    def _claims(self, payload: dict[str, Any]) -> AccessClaims:
        roles, sid = payload.get("roles"), payload.get("sid")
        if (
            payload["typ"] != ACCESS
            or not isinstance(payload["sub"], str)
            or not isinstance(payload["jti"], str)
            or not isinstance(sid, str)
            or not isinstance(roles, list)
            or not all(isinstance(role, str) for role in roles)
        ):
            raise InvalidTokenError
        return AccessClaims(
            subject=payload["sub"],
            roles=frozenset(roles),
            session_id=sid,
            jti=payload["jti"],
            expires_at=int(payload["exp"]),
        )
