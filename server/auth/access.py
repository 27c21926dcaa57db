"""Access-token checks for the authentication interceptor, and the jti denylist.

A token passes when its signature and claims are valid (tokens.py), its `jti` is not denylisted,
and its login session (refresh-token family) still exists and is not revoked or expired. The last
check makes Logout, ChangePassword and DeleteAccount end other sessions at once rather than after
up to 15 minutes, for the price of two primary-key lookups per call.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from rpc.call import Principal
from server.auth.tokens import LEEWAY_SECONDS, InvalidTokenError, JwtCodec
from server.clock import Clock, system_clock
from server.storage.db import session_factory
from server.storage.models import RefreshTokenFamily, RevokedToken

MAX_TOKEN_LENGTH = 4096


class AccessTokenVerifier:
    """Turns a Bearer token into the user principal, or None."""

    def __init__(self, codec: JwtCodec, engine: AsyncEngine, *, clock: Clock = system_clock) -> None:
        self._codec = codec
        self._sessions = session_factory(engine)
        self._clock = clock

    async def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked access token; None for anything else."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            claims = self._codec.decode_access(token)
        except InvalidTokenError:
            return None
        async with self._sessions() as session:
            if await session.get(RevokedToken, claims.jti) is not None:
                return None
            family = await session.get(RefreshTokenFamily, claims.session_id)
        if (
            family is None
            or family.user_id != claims.subject
            or family.revoked_at is not None
            or family.expires_at <= self._clock()
        ):
            return None
        return Principal(
            id=claims.subject, kind="user", roles=claims.roles, token_id=claims.jti, session_id=claims.session_id
        )

    async def revoke(self, jti: str) -> None:
        """Denylist `jti` until its token has certainly expired (and drop entries whose token has)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
            if await session.get(RevokedToken, jti) is None:
                expires_at = now + timedelta(seconds=self._codec.ttl_seconds + LEEWAY_SECONDS)
                session.add(RevokedToken(jti=jti, expires_at=expires_at))
