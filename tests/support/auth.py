"""Credentials for tests: fixed API keys, cheap Argon2, and register/login through the real AuthService."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import grpc
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from wuffchat_client.captcha import solve_captcha

from server.config import DEFAULT_RATE_LIMITS, ApiKeySpec
from server.storage.keyring import DataKey

ADMIN_KEY = "wck_test-admin-key-0123456789abcdefghijklmnopq"
SERVICE_KEY = "wck_test-service-key-0123456789abcdefghijklmnop"
TEST_API_KEYS = (ApiKeySpec("test-admin", "admin", ADMIN_KEY), ApiKeySpec("test-service", "service", SERVICE_KEY))
PASSWORD = "Hundeleine im Regen 42"

# Data keys of test servers (fixed, so a test may reopen a database; derived, so no key literal is published)
TEST_DATA_KEYS = (DataKey(1, hashlib.sha256(b"wuffchat test data key 1").digest()),)


def env_text(value: Any) -> str:
    """A setting as the environment holds it: text (bytes decoded, sequences comma-separated)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, tuple | list):
        return ",".join(env_text(item) for item in value)
    return str(value)


def data_keys_env(*keys: DataKey) -> str:
    """DATA_KEYS for `keys` (the first is active)."""
    return ",".join(f"{key.id}:{base64.b64encode(key.key).decode()}" for key in keys)


def rate_limits(default: str, **per_rpc: str) -> str:
    """RATE_LIMITS giving every RPC `default` except those named (`Login="5/minute"`, also an RPC without
    a limit of its own such as `SearchBehaviors`)."""
    names = [name for name, _ in DEFAULT_RATE_LIMITS]
    names += [name for name in per_rpc if name not in names]
    return ",".join(f"{name}={per_rpc.get(name, default)}" for name in names)


# Test servers hash cheaply and ask for little proof of work (the model's lowest bounds; production
# defaults are in server/config), with the API and data keys above.
FAST_AUTH: dict[str, str] = {
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_KIB": str(8 * 1024),
    "ARGON2_PARALLELISM": "1",
    "CAPTCHA_MAX_NUMBER": "1000",
    "API_KEYS": ",".join(f"{spec.name}:{spec.role}:{spec.key}" for spec in TEST_API_KEYS),
    "DATA_KEYS": data_keys_env(*TEST_DATA_KEYS),
}

Metadata = tuple[tuple[str, str], ...]


def bearer(access_token: str) -> Metadata:
    return (("authorization", f"Bearer {access_token}"),)


def api_key(key: str = ADMIN_KEY) -> Metadata:
    return (("x-api-key", key),)


async def solved_captcha(stub: auth_service_pb2_grpc.AuthServiceStub) -> auth_service_pb2.CaptchaSolution:
    """Fetch a challenge and solve it as the Python client does."""
    c = await stub.GetCaptcha(auth_service_pb2.GetCaptchaRequest())
    number = solve_captcha(c.challenge, c.salt, c.max_number, algorithm=c.algorithm)
    return auth_service_pb2.CaptchaSolution(
        algorithm=c.algorithm, challenge=c.challenge, salt=c.salt, number=number, signature=c.signature
    )


async def register(channel: grpc.aio.Channel, email: str, password: str = PASSWORD) -> str:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    reply = await stub.Register(
        auth_service_pb2.RegisterRequest(email=email, password=password, captcha=await solved_captcha(stub))
    )
    return reply.user_id


async def login(channel: grpc.aio.Channel, email: str, password: str = PASSWORD) -> auth_service_pb2.TokenPair:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    reply = await stub.Login(
        auth_service_pb2.LoginRequest(email=email, password=password, captcha=await solved_captcha(stub))
    )
    return reply.tokens


async def signed_up(channel: grpc.aio.Channel, email: str, password: str = PASSWORD) -> auth_service_pb2.TokenPair:
    """Register `email` and log in: the token pair of a fresh user."""
    await register(channel, email, password)
    return await login(channel, email, password)
