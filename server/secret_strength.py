"""Is a secret or key strong enough for production? Used by server/config/ (_prod.py) when APP_ENV=prod.

A text secret (SECRET_KEY, SECRET_KEY_PREVIOUS, API keys) must have 32+ bytes, show no simple pattern
(few distinct characters, a repeated block, a run like `abcdefgh`), survive zxcvbn's guess estimate
(dictionary words, keyboard walks, dates, l33t) and not be a key published in this repository. Ed25519
keys must not be published either, a public key must be a proper point of large order (the identity or
another small-order point accepts forged signatures), and a private key's seed must not be a pattern.
Every answer is a reason without the secret itself, so callers can print it.
"""

from __future__ import annotations

import hashlib
import itertools

from zxcvbn import zxcvbn

MIN_BYTES = 32
MIN_DISTINCT = 8  # random keys of 32 hex characters have fewer about once in 10^5
REPEAT_BLOCK = 8  # a block this long seen twice; random keys of 128 hex characters do so once in ~10^6
SEQUENCE_RUN = 8  # this many characters in arithmetic progression: 00000000, 01234567, hgfedcba
# zxcvbn's log10 guess estimate: random 32-character keys score 28+, phrases of words and years 20-26.
MIN_GUESSES_LOG10 = 27
# zxcvbn's time grows steeply with length (~0.07 s for 48 characters, ~0.13 s for 64) and it refuses
# more than 72; a key is at least as hard to guess as its first 48 characters, and the pattern checks
# see the whole key.
ESTIMATE_CHARS = 48
# words an operator is likely to build a key from, weighted by zxcvbn as if they were the user's name
PROJECT_WORDS = ("wuffchat", "wuff", "chat", "dog", "secret", "key", "prod", "production", "jwt", "api", "token")

# SHA-256 of keys that appeared in public text; tests/test_secret_strength.py checks every key literal of
# README.md, SECURITY.md, tests/ and bench/ is refused, so a new one must be refused by a pattern or added here.
PUBLISHED_SHA256 = frozenset(
    {
        "34c25e8949645760298fe5713e56b6e6c15630885217b1a0ce8670c0196a00ea",  # tests' PROD_SECRET until issue 12
        "6b2bc4bd5c51d24715305b667370110f3ae97cde59152ed9c9bb21bfa94aef53",  # tests/auth/test_tokens.py SECRET
        "e782ca06b47621873154dd1db13abd677d0896390651c46ecd011fe124b08c51",  # tests/auth/test_tokens.py wrong_key
        "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",  # RFC 8032 test 1 Ed25519 public key
    }
)

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_IDENTITY = (0, 1)


def weakness(secret: str) -> str | None:
    """Why `secret` is too weak for production, or None when it is strong enough."""
    raw = secret.encode()
    if len(raw) < MIN_BYTES:
        return f"shorter than {MIN_BYTES} bytes"
    if _published(raw):
        return "published in the WuffChat repository"
    pattern = _pattern(raw)
    if pattern is not None:
        return pattern
    if zxcvbn(secret[:ESTIMATE_CHARS], user_inputs=PROJECT_WORDS)["guesses_log10"] < MIN_GUESSES_LOG10:
        return "easy to guess (words, names, dates, sequences or keyboard patterns)"
    return None


def ed25519_public_weakness(raw: bytes) -> str | None:
    """Why the raw 32-byte Ed25519 public key must not verify anything, or None."""
    if _published(raw):
        return "published (repository or RFC 8032 test vector)"
    point = _decode_point(raw)
    if point is None:
        return "not a canonical point of Ed25519"
    if _times_8(point) == _IDENTITY:
        return "a point of small order (it accepts forged signatures)"
    return None


def ed25519_seed_weakness(seed: bytes) -> str | None:
    """Why the raw 32-byte Ed25519 private key (seed) is guessable, or None."""
    return random_key_weakness(seed)


def random_key_weakness(raw: bytes) -> str | None:
    """Why raw key bytes that should be random (an Ed25519 seed, a DATA_KEYS key) are guessable, or None."""
    if _published(raw):
        return "published"
    if len(set(raw)) < 16:  # 32 random bytes have ~30 distinct values; fewer than 16 happens ~never
        return "not random: too few distinct bytes"
    return _pattern(raw)


def _published(raw: bytes) -> bool:
    return hashlib.sha256(raw).hexdigest() in PUBLISHED_SHA256


def _pattern(raw: bytes) -> str | None:
    if len(set(raw)) < MIN_DISTINCT:
        return "too few distinct characters"
    blocks = [raw[i : i + REPEAT_BLOCK] for i in range(len(raw) - REPEAT_BLOCK + 1)]
    if len(set(blocks)) < len(blocks):
        return "repeats a block of characters"
    steps = [b - a for a, b in itertools.pairwise(raw)]
    run = SEQUENCE_RUN - 1
    if any(len(set(steps[i : i + run])) == 1 for i in range(len(steps) - run + 1)):
        return "contains a sequence"
    return None


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 section 5.1.3 decoding; None for non-canonical or off-curve encodings."""
    if len(raw) != 32:
        return None
    encoded = int.from_bytes(raw, "little")
    y, sign = encoded & ((1 << 255) - 1), encoded >> 255
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if v * x * x % _P != u:
        return None
    if x == 0 and sign:
        return None
    return (_P - x if x & 1 != sign else x), y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Affine addition on edwards25519 (complete: d is not a square)."""
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def _times_8(point: tuple[int, int]) -> tuple[int, int]:
    for _ in range(3):
        point = _add(point, point)
    return point
