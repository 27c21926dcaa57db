"""The `users` table: create, find, update the password hash and the failure counter, erase."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth import lockout
from server.clock import Clock, system_clock
from server.storage import sealing
from server.storage.db import session_factory
from server.storage.models import Conversation, User

USER_ROLE = "user"


class EmailTakenError(Exception):
    """An account with this email exists."""


def roles_of(user: User) -> frozenset[str]:
    """The roles in `users.roles` (comma-separated, e.g. "user,admin"); every account has "user"."""
    return frozenset({USER_ROLE, *(role.strip() for role in user.roles.split(",") if role.strip())})


def owner_key(user_id: str) -> str:
    """The principal key under which a user's conversations and audit events are stored."""
    return f"user:{user_id}"


class UserStore:
    """Accounts; each method is one short transaction."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = system_clock) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._clock = clock

    async def create(self, email: str, password_hash: str) -> User:
        """Store a new account.

        Raises:
            EmailTakenError: the (normalized) email is in use.
        """
        now = self._clock()
        user = User(
            id=uuid.uuid4().hex,
            email=email,
            password_hash=password_hash,
            roles=USER_ROLE,
            failed_logins=0,
            lock_count=0,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(user)
        except IntegrityError:
            raise EmailTakenError from None
        return user

    async def by_email(self, email: str) -> User | None:
        """The account of the normalized `email`, found by its blind index (the email itself is sealed)."""
        index = sealing.cipher_of(self._engine).blind(email)
        async with self._sessions() as session:
            return (await session.scalars(select(User).where(User.email_index == index))).first()

    async def get(self, user_id: str) -> User | None:
        async with self._sessions() as session:
            return await session.get(User, user_id)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=self._clock())
            )

    async def login_failed(self, user_id: str, policy: lockout.LockoutPolicy) -> bool:
        """Count a failed password check; True when it locks the account."""
        async with self._sessions() as session, session.begin():
            user = await session.get(User, user_id, with_for_update=True)
            return user is not None and lockout.record_failure(user, self._clock(), policy)

    async def login_succeeded(self, user_id: str, new_hash: str | None = None) -> None:
        """Reset the failure counter; store `new_hash` when the parameters changed (rehash on login)."""
        async with self._sessions() as session, session.begin():
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                return
            lockout.record_success(user)
            if new_hash is not None:
                user.password_hash = new_hash
                user.updated_at = self._clock()

    async def erase(self, user_id: str) -> None:
        """Delete the account and everything hanging off it, in one transaction.

        Conversations go explicitly (they are keyed by owner, not only by user id); messages, feedback,
        refresh-token families and tokens follow through ON DELETE CASCADE.
        """
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(Conversation).where(
                    or_(Conversation.user_id == user_id, Conversation.owner_id == owner_key(user_id))
                )
            )
            await session.execute(delete(User).where(User.id == user_id))
