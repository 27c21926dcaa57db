"""Token pairs: an access JWT plus the current refresh token of a login session."""

from __future__ import annotations

from wuffchat.auth.v1 import auth_service_pb2

from server.auth.accounts import UserStore, roles_of
from server.auth.refresh import InvalidRefreshError, RefreshStore, Session
from server.auth.tokens import JwtCodec
from server.clock import Clock, system_clock
from server.storage.models import User

TOKEN_TYPE = "Bearer"  # noqa: S105  (the scheme name, not a secret)


class SessionIssuer:
    """Opens sessions at login and rotates them on refresh."""

    def __init__(
        self, codec: JwtCodec, refresh: RefreshStore, users: UserStore, *, clock: Clock = system_clock
    ) -> None:
        self._codec = codec
        self._refresh = refresh
        self._users = users
        self._clock = clock

    async def open(self, user: User) -> tuple[auth_service_pb2.TokenPair, Session]:
        """A new session (refresh-token family) for `user` and its first token pair."""
        session = await self._refresh.start(user.id)
        return self._pair(user, session), session

    async def rotate(self, refresh_token: str) -> auth_service_pb2.TokenPair:
        """Spend `refresh_token` for a new pair.

        Raises:
            RefreshReuseError: a spent token outside the grace window; its family is revoked.
            InvalidRefreshError: unknown, expired or revoked token, or the account is gone.
        """
        session = await self._refresh.rotate(refresh_token)
        user = await self._users.get(session.user_id)
        if user is None:
            raise InvalidRefreshError
        return self._pair(user, session)

    def _pair(self, user: User, session: Session) -> auth_service_pb2.TokenPair:
        access, _ = self._codec.issue_access(user.id, roles_of(user), session.family_id)
        remaining = int((session.expires_at - self._clock()).total_seconds())
        return auth_service_pb2.TokenPair(
            access_token=access,
            refresh_token=session.refresh_token,
            access_expires_in=self._codec.ttl_seconds,
            refresh_expires_in=max(0, remaining),
            token_type=TOKEN_TYPE,
        )
