"""Passwords: NIST 800-63B policy, and Argon2id hashing in a thread pool so the event loop never blocks.

argon2-cffi releases the GIL while it hashes, so a small pool of worker threads hashes in parallel
while the loop keeps serving other calls. The pool size also caps how much memory concurrent
logins can take (workers x ARGON2_MEMORY_KIB).
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COMMON_PASSWORDS = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt"
MIN_LENGTH = 8
MAX_LENGTH = 128

T = TypeVar("T")


def normalize_password(password: str) -> str:
    """NFKC, as NIST 800-63B 5.1.1.2 recommends, so the same visible password always hashes the same."""
    return unicodedata.normalize("NFKC", password)


class PasswordPolicy:
    """NIST 800-63B: 8 to 128 characters, no composition rules, not a common password, not the email."""

    def __init__(self, common: frozenset[str]) -> None:
        self._common = common

    @classmethod
    async def load(cls, path: Path = COMMON_PASSWORDS) -> PasswordPolicy:
        """Read the bundled list (one lower-case password per line) off the event loop."""
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        return cls(frozenset(line for line in text.splitlines() if line))

    def violation(self, password: str, email: str) -> tuple[str, dict[str, object]] | None:
        """The message key (and its parameters) of the first rule `password` breaks, or None.

        `password` must already be normalized (`normalize_password`); length counts code points.
        """
        if len(password) < MIN_LENGTH:
            return "password_too_short", {"min": MIN_LENGTH}
        if len(password) > MAX_LENGTH:
            return "password_too_long", {"max": MAX_LENGTH}
        folded = password.casefold()
        local_part = email.split("@", 1)[0]
        if folded in (email.casefold(), local_part.casefold()):
            return "password_is_email", {}
        if folded in self._common:
            return "password_common", {}
        return None


class PasswordHasher:
    """Argon2id hashing and verification on a dedicated thread pool."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, workers: int) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=argon2.Type.ID
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def _off_loop(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def start(self) -> None:
        """Make the dummy hash that unknown-account logins verify against (same parameters, same cost)."""
        self._dummy_hash = await self.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        return await self._off_loop(lambda: self._argon2.hash(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; False on mismatch or an unreadable hash."""

        def check() -> bool:
            try:
                return self._argon2.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await self._off_loop(check)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one real verification, so an unknown account answers as slowly as a known one."""
        assert self._dummy_hash is not None, "PasswordHasher.start() was not awaited"
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when `password_hash` was made with other parameters than the configured ones."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
