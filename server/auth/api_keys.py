"""API keys for internal services: from `API_KEYS` and the `api_keys` table, stored and compared as hashes.

Keys are 256-bit random strings (`wck_...`), so a SHA-256 of them is as good as a slow hash: there is
nothing to brute-force. The presented key's hash is compared with `hmac.compare_digest` against every
configured key (no early exit); table keys are found by their hash and then compared the same way.
Every table key is `generate_key`'s exact shape (`wck_` + 43 base64url characters), so a key of
another shape is refused without a database lookup (the shape is public, nothing leaks by timing).
A valid table key's principal is kept for `CACHE_SECONDS`, so a busy service does not query the table
on every call (issue 14); a revocation (`apikey revoke`, from any process) is therefore refused within
that second by every instance, with no signal between them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from rpc.call import Principal
from server.clock import Clock, system_clock
from server.config import ApiKeySpec
from server.storage.db import session_factory
from server.storage.models import ApiKey

KEY_PREFIX = "wck_"
_TABLE_KEY = re.compile(r"wck_[A-Za-z0-9_-]{43}")  # generate_key: token_urlsafe(32) is 43 characters
MAX_KEY_LENGTH = 256
LAST_USED_RESOLUTION = timedelta(minutes=1)
CACHE_SECONDS = 1.0  # how long a valid table key is trusted without the table: the revocation delay
CACHE_SIZE = 1024  # valid table keys kept at most (one per service, in practice)


class ApiKeyNameTakenError(ValueError):
    """An API key with this name exists already."""


@dataclass(frozen=True)
class _Known:
    key_hash: str
    principal: Principal  # built once: a configured key always stands for the same principal


@dataclass(frozen=True)
class ApiKeyInfo:
    """What `apikey list` shows: never the key, only its first characters."""

    name: str
    prefix: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyChecker:
    """Turns a presented `x-api-key` into a principal (kind "apikey", role service or admin)."""

    def __init__(
        self,
        engine: AsyncEngine,
        configured: Sequence[ApiKeySpec],
        *,
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._configured = [
            _Known(hash_key(spec.key), Principal(id=f"env:{spec.name}", kind="apikey", roles=frozenset({spec.role})))
            for spec in configured
        ]
        self._clock = clock
        self._monotonic = monotonic
        self._recent: dict[str, tuple[float, Principal]] = {}  # key hash -> (trusted until, principal)

    async def check(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None otherwise."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        presented = hash_key(key)
        match: _Known | None = None
        for known in self._configured:  # every comparison runs, whatever matches
            if hmac.compare_digest(known.key_hash, presented):
                match = known
        if match is not None:
            return match.principal
        if _TABLE_KEY.fullmatch(key) is None:
            return None
        recent = self._recent.get(presented)
        if recent is not None and recent[0] > self._monotonic():
            return recent[1]
        principal = await self._look_up(presented)
        if principal is None:
            self._recent.pop(presented, None)
            return None
        if len(self._recent) >= CACHE_SIZE:
            self._recent.clear()
        self._recent[presented] = (self._monotonic() + CACHE_SECONDS, principal)
        return principal

    async def _look_up(self, presented: str) -> Principal | None:
        async with self._sessions() as session, session.begin():
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == presented, ApiKey.revoked_at.is_(None)))
            if row is None or not hmac.compare_digest(row.key_hash, presented):
                return None
            now = self._clock()
            if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
                row.last_used_at = now  # at most one write per key and minute, not one per call
            return Principal(id=row.name, kind="apikey", roles=frozenset({row.role}))

    async def active_count(self) -> int:
        """Configured keys plus unrevoked table keys."""
        async with self._sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None)))
        return len(self._configured) + int(stored or 0)


class ApiKeyStore:
    """The `api_keys` table, for `python -m server apikey create|list|revoke` and the dev key."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = system_clock) -> None:
        self._sessions = session_factory(engine)
        self._clock = clock

    async def create(self, name: str, role: str) -> str:
        """Store a new key and return it; this is the only time the key is seen.

        Raises:
            ApiKeyNameTakenError: the name is in use (revoked keys keep their name).
        """
        key = generate_key()
        row = ApiKey(
            id=uuid.uuid4().hex,
            name=name,
            prefix=key[:12],
            key_hash=hash_key(key),
            role=role,
            created_at=self._clock(),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise ApiKeyNameTakenError(name) from None
        return key

    async def list(self) -> list[ApiKeyInfo]:
        async with self._sessions() as session:
            rows = await session.scalars(select(ApiKey).order_by(ApiKey.created_at))
            return [
                ApiKeyInfo(r.name, r.prefix, r.role, r.created_at, r.revoked_at, r.last_used_at) for r in rows.all()
            ]

    async def revoke(self, name: str) -> bool:
        """Revoke the key called `name`; False when there is no such active key."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
            if row is None:
                return False
            row.revoked_at = self._clock()
            return True
