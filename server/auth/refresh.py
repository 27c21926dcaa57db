"""Refresh tokens: opaque, stored hashed, single use, rotated, grouped in one family per login.

Presenting a spent token revokes its whole family (the caller learns `RefreshReuseError`, to audit it),
except within the grace window right after its rotation while the successor is still unused: then
the same successor is handed out again (a lost response must not log the user out). Only the holder
of the spent token can read that successor back: it is stored encrypted (AES-GCM) under a key
derived from the spent token, which the database never holds.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.clock import Clock, system_clock
from server.storage.db import session_factory
from server.storage.models import RefreshToken, RefreshTokenFamily


class InvalidRefreshError(Exception):
    """Unknown, expired or revoked refresh token."""


class RefreshReuseError(InvalidRefreshError):
    """A spent token was presented again; its family is now revoked."""

    def __init__(self, user_id: str, family_id: str) -> None:
        super().__init__("refresh token reuse")
        self.user_id = user_id
        self.family_id = family_id


class _LostRaceError(Exception):
    """Another call spent the token between our read and our write."""


@dataclass(frozen=True)
class Session:
    """A live login session and its current refresh token."""

    user_id: str
    family_id: str
    refresh_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """SHA-256 of the token; enough for 256-bit random secrets (nothing to brute-force)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _seal_key(token: str) -> bytes:
    return hashlib.sha256(b"wuffchat-refresh-seal\0" + token.encode()).digest()


def seal(spent: str, successor: str, row_id: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_seal_key(spent)).encrypt(nonce, successor.encode(), row_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(spent: str, sealed: str, row_id: str) -> str | None:
    raw = base64.urlsafe_b64decode(sealed.encode())
    try:
        return AESGCM(_seal_key(spent)).decrypt(raw[:12], raw[12:], row_id.encode()).decode()
    except InvalidTag:
        return None


class RefreshStore:
    """Families and their tokens in the database."""

    def __init__(
        self, engine: AsyncEngine, *, ttl_seconds: int, grace_seconds: float, clock: Clock = system_clock
    ) -> None:
        self._sessions = session_factory(engine)
        self._ttl = timedelta(seconds=ttl_seconds)
        self._grace = timedelta(seconds=grace_seconds)
        self._clock = clock

    def _new_token(self, family_id: str, expires_at: datetime, now: datetime) -> tuple[str, RefreshToken]:
        token = secrets.token_urlsafe(32)
        row = RefreshToken(
            id=uuid.uuid4().hex,
            family_id=family_id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=expires_at,
        )
        return token, row

    async def start(self, user_id: str) -> Session:
        """A new family (one login) with its first token; it lives at most `ttl_seconds` in all."""
        now = self._clock()
        family = RefreshTokenFamily(id=uuid.uuid4().hex, user_id=user_id, created_at=now, expires_at=now + self._ttl)
        token, row = self._new_token(family.id, family.expires_at, now)
        async with self._sessions() as session, session.begin():
            session.add(family)
            await session.flush()
            session.add(row)
        return Session(user_id, family.id, token, family.expires_at)

    async def rotate(self, token: str) -> Session:
        """Spend `token` and return its successor.

        Raises:
            RefreshReuseError: `token` was spent before (outside the grace window); the family is revoked.
            InvalidRefreshError: unknown, expired or revoked.
        """
        for _attempt in range(2):  # a lost race with a concurrent rotation is retried once
            try:
                async with self._sessions() as session, session.begin():
                    result = await self._rotate(session, token)
            except _LostRaceError:
                continue
            if isinstance(result, RefreshReuseError):
                raise result  # raised after the commit, so the family stays revoked
            return result
        raise InvalidRefreshError

    async def _rotate(self, session: AsyncSession, token: str) -> Session | RefreshReuseError:
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)).with_for_update()
        )
        if row is None:
            raise InvalidRefreshError
        family = await session.get(RefreshTokenFamily, row.family_id, with_for_update=True)
        now = self._clock()
        if family is None or family.revoked_at is not None or family.expires_at <= now:
            raise InvalidRefreshError
        if row.used_at is None:
            successor, successor_row = self._new_token(family.id, family.expires_at, now)
            session.add(successor_row)
            await session.flush()
            spent = await session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                .values(used_at=now, successor_id=successor_row.id, successor_sealed=seal(token, successor, row.id))
                .execution_options(synchronize_session=False)
            )
            if getattr(spent, "rowcount", 0) != 1:
                raise _LostRaceError
            return Session(family.user_id, family.id, successor, family.expires_at)
        return await self._reuse(session, token, row, family, now)

    async def _reuse(
        self, session: AsyncSession, token: str, row: RefreshToken, family: RefreshTokenFamily, now: datetime
    ) -> Session | RefreshReuseError:
        assert row.used_at is not None
        successor = await session.get(RefreshToken, row.successor_id) if row.successor_id else None
        if (
            now - row.used_at <= self._grace
            and successor is not None
            and successor.used_at is None
            and row.successor_sealed is not None
        ):
            again = unseal(token, row.successor_sealed, row.id)
            if again is not None:
                return Session(family.user_id, family.id, again, family.expires_at)
        family.revoked_at = now
        family.revoke_reason = "reuse"
        return RefreshReuseError(family.user_id, family.id)

    async def family_of(self, token: str) -> tuple[str, str] | None:
        """(user id, family id) of a known token, spent or not."""
        async with self._sessions() as session:
            row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)))
            if row is None:
                return None
            family = await session.get(RefreshTokenFamily, row.family_id)
            return (family.user_id, family.id) if family else None

    async def revoke(self, user_id: str, reason: str, *, family_id: str | None = None, keep: str | None = None) -> int:
        """Revoke one family of `user_id` (`family_id`), or all of them except `keep`; the number revoked."""
        query = (
            update(RefreshTokenFamily)
            .where(RefreshTokenFamily.user_id == user_id, RefreshTokenFamily.revoked_at.is_(None))
            .values(revoked_at=self._clock(), revoke_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if family_id is not None:
            query = query.where(RefreshTokenFamily.id == family_id)
        if keep is not None:
            query = query.where(RefreshTokenFamily.id != keep)
        async with self._sessions() as session, session.begin():
            result = await session.execute(query)
        return int(getattr(result, "rowcount", 0))
