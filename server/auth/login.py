"""Password checks with lockout: Login, and the re-authentication of ChangePassword and DeleteAccount.

An unknown email, a wrong password and a locked account all end in the same `LoginFailedError`,
and each spends one Argon2 verification (a dummy hash for unknown or locked accounts), so neither
the answer nor its timing tells whether an account exists. Only a throttled client IP gets a
different answer, which says nothing about any account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from server.audit import AuditLog
from server.auth import lockout
from server.auth.accounts import UserStore, owner_key
from server.auth.emails import InvalidEmailError, normalize_email
from server.auth.passwords import PasswordHasher
from server.clock import Clock, system_clock
from server.storage.models import User


class LoginFailedError(Exception):
    """Wrong email or password, or a locked account: one answer for all."""


class LoginThrottledError(Exception):
    """Too many failures from this client IP."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("login throttled")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Recheck:
    """The outcome of re-entering the password of a signed-in account."""

    ok: bool
    locked_for: int = 0  # seconds, when the account is locked


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


class PasswordLogin:
    """Checks passwords and keeps the per-account and per-IP failure counters."""

    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        ip_throttle: lockout.IpThrottle,
        account_policy: lockout.LockoutPolicy,
        audit: AuditLog,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._ip = ip_throttle
        self._policy = account_policy
        self._audit = audit
        self._clock = clock

    async def login(self, email: str, password: str, client_ip: str) -> User:
        """The account whose email and password these are; `password` already normalized.

        Raises:
            LoginThrottledError: this IP failed too often; nothing was checked.
            LoginFailedError: unknown email, wrong password or locked account.
        """
        ip_until = await self._ip.locked_until(client_ip)
        if ip_until is not None:
            raise LoginThrottledError(_seconds_until(ip_until, self._clock()))
        try:
            user = await self._users.by_email(normalize_email(email))
        except InvalidEmailError:
            user = None
        if user is None:
            await self._hasher.verify_dummy(password)
            await self._failed(None, client_ip, "unknown_account")
            raise LoginFailedError
        if lockout.locked_until(user, self._clock()) is not None:
            await self._hasher.verify_dummy(password)
            await self._failed(user, client_ip, "locked")
            raise LoginFailedError
        if not await self._hasher.verify(user.password_hash, password):
            await self._failed(user, client_ip, "bad_password")
            raise LoginFailedError
        new_hash = await self._hasher.hash(password) if self._hasher.needs_rehash(user.password_hash) else None
        await self._users.login_succeeded(user.id, new_hash)
        await self._audit.record(
            "authn_login_success", principal=owner_key(user.id), details={"rehashed": bool(new_hash)}
        )
        return user

    async def recheck(self, user: User, password: str, client_ip: str) -> Recheck:
        """Check the password of a signed-in `user` (ChangePassword, DeleteAccount), counting failures."""
        until = lockout.locked_until(user, self._clock())
        if until is not None:
            return Recheck(ok=False, locked_for=_seconds_until(until, self._clock()))
        if await self._hasher.verify(user.password_hash, password):
            return Recheck(ok=True)
        await self._failed(user, client_ip, "bad_password")
        return Recheck(ok=False)

    async def _failed(self, user: User | None, client_ip: str, reason: str) -> None:
        principal = owner_key(user.id) if user else None
        await self._audit.record(
            "authn_login_fail", severity="warning", principal=principal, details={"reason": reason}
        )
        if user is not None and reason != "locked" and await self._users.login_failed(user.id, self._policy):
            await self._audit.record(
                "authn_login_lock",
                severity="warning",
                principal=principal,
                details={"scope": "account", "failures": self._policy.max_failures},
            )
        if await self._ip.failure(client_ip):
            await self._audit.record(
                "authn_login_lock",
                severity="warning",
                principal=principal,
                details={"scope": "ip", "failures": self._ip.policy.max_failures},
            )
