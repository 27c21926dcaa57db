"""Self-hosted proof-of-work CAPTCHA, ALTCHA style: SHA-256 challenge, HMAC-signed, 5-minute expiry, single use.

The server picks a secret number n in 0..max_number and a random salt that carries the expiry
(`<hex>?expires=<unix seconds>&`); challenge = hex(SHA-256(salt + decimal(n))) and
signature = hex(HMAC-SHA-256(key, challenge)). Since the challenge covers the salt, the expiry
cannot be changed without breaking the signature. The salt's parameters end with `&`, and a salt
is accepted only in exactly the issued shape: without the delimiter, the leading digits of n could
be moved onto the end of the expiry (same hash, ten times later), as in ALTCHA before its fix.
A redeemed challenge is stored in `captcha_uses` until it expires, so each one is accepted once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.clock import Clock, system_clock
from server.storage.db import session_factory
from server.storage.models import CaptchaUse

ALGORITHM = "SHA-256"
# exactly what `issue` writes: one expires, ASCII digits only, terminated by "&"
_SALT = re.compile(r"[0-9a-f]{24}\?expires=([0-9]{1,12})&")
_KEY_LABEL = b"wuffchat captcha v1"


@dataclass(frozen=True)
class Challenge:
    """What GetCaptcha returns."""

    algorithm: str
    challenge: str
    salt: str
    max_number: int
    signature: str
    expires_at: int


@dataclass(frozen=True)
class Solution:
    """What the client sends back."""

    algorithm: str
    challenge: str
    salt: str
    number: int
    signature: str


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Captcha:
    """Issues and redeems challenges; the first of `secrets_` signs, all of them verify (key rotation)."""

    def __init__(
        self,
        engine: AsyncEngine,
        secrets_: Sequence[bytes],
        *,
        max_number: int,
        ttl_seconds: int,
        clock: Clock = system_clock,
    ) -> None:
        # one derived key per secret: the CAPTCHA never uses the JWT key itself
        self._keys = [hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest() for secret in secrets_]
        self._sessions = session_factory(engine)
        self._max_number = max_number
        self._ttl = ttl_seconds
        self._clock = clock

    def _sign(self, key: bytes, challenge: str) -> str:
        return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> Challenge:
        expires_at = int(self._clock().timestamp()) + self._ttl
        salt = f"{secrets.token_hex(12)}?expires={expires_at}&"
        number = secrets.randbelow(self._max_number + 1)
        challenge = _sha256_hex(f"{salt}{number}")
        return Challenge(
            algorithm=ALGORITHM,
            challenge=challenge,
            salt=salt,
            max_number=self._max_number,
            signature=self._sign(self._keys[0], challenge),
            expires_at=expires_at,
        )

    def _expires_at(self, salt: str) -> int | None:
        match = _SALT.fullmatch(salt)
        return int(match[1]) if match else None

    def _valid(self, solution: Solution, now: datetime) -> int | None:
        """The expiry of a correctly solved, signed, unexpired challenge, else None."""
        if solution.algorithm != ALGORITHM:
            return None
        signed = False
        for key in self._keys:  # compare with every key, no early exit
            signed |= hmac.compare_digest(self._sign(key, solution.challenge), solution.signature)
        expires_at = self._expires_at(solution.salt)
        if not signed or expires_at is None or now.timestamp() > expires_at:
            return None
        if not 0 <= solution.number <= self._max_number:
            return None
        if not hmac.compare_digest(_sha256_hex(f"{solution.salt}{solution.number}"), solution.challenge):
            return None
        return expires_at

    async def redeem(self, solution: Solution) -> bool:
        """True exactly once for a correct, signed, unexpired solution; False for anything else."""
        now = self._clock()
        expires_at = self._valid(solution, now)
        if expires_at is None:
            return False
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(delete(CaptchaUse).where(CaptchaUse.expires_at < now))
                session.add(
                    CaptchaUse(challenge=solution.challenge, expires_at=datetime.fromtimestamp(expires_at, UTC))
                )
        except IntegrityError:
            return False  # replayed
        return True
