"""Solve WuffChat's ALTCHA-style proof-of-work CAPTCHA (the challenge from `AuthService.GetCaptcha`).

The server picked a secret number n in 0..max_number and sent challenge = hex(SHA-256(salt + str(n))).
Finding n takes at most max_number + 1 hashes. A browser does the same with WebCrypto:
`crypto.subtle.digest("SHA-256", new TextEncoder().encode(salt + n))`, hex-encoded, compared.
"""

from __future__ import annotations

import hashlib

ALGORITHM = "SHA-256"


class CaptchaUnsolvableError(ValueError):
    """No number in 0..max_number gives the challenge (wrong algorithm, or a tampered challenge)."""


def solve_captcha(challenge: str, salt: str, max_number: int, *, algorithm: str = ALGORITHM) -> int:
    """The number n in 0..max_number with hex(SHA-256(salt + decimal(n))) == challenge.

    Raises:
        CaptchaUnsolvableError: the algorithm is not SHA-256 or no number matches.
    """
    if algorithm != ALGORITHM:
        raise CaptchaUnsolvableError(f"unsupported algorithm {algorithm!r}")
    target = challenge.lower()
    prefix = hashlib.sha256(salt.encode())
    for number in range(max_number + 1):
        digest = prefix.copy()
        digest.update(str(number).encode())
        if digest.hexdigest() == target:
            return number
    raise CaptchaUnsolvableError("no number matches the challenge")
