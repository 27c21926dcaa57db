"""server/secret_strength.py: what production refuses as a secret or an Ed25519 key, and what it accepts."""

from __future__ import annotations

import ast
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from server.secret_strength import ed25519_public_weakness, ed25519_seed_weakness, weakness

ROOT = Path(__file__).resolve().parent.parent
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
# edwards25519 points of order 1, 2, 4 and 8 (libsodium's blocklist); each accepts forged signatures
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]
_KEY_NAME = re.compile(r"secret|key", re.IGNORECASE)
_ENV_KEY = re.compile(r"\b(SECRET_KEY(?:_PREVIOUS)?|API_KEYS)=['\"]?([^'\"\s]+)")


@pytest.mark.parametrize(
    "secret",
    [
        "short-but-random-Zq8",
        "a" * 40,
        "0123456789012345678901234567890123456789",
        "passwordpassword1234567890123456",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        "qwertyuiopasdfghjklzxcvbnm1234567890",
        "MySecretKeyForWuffChatProduction2024!",
        "correct horse battery staple wuffchat",
        secrets.token_urlsafe(24) * 2,  # random, but a repeated block
        secrets.token_urlsafe(40) + "0123456789abcdefghij",  # a sequence after the part zxcvbn reads
        "k3Y-for-tests-only_9fQ2xZ7wL1mN8vB4cR6tY0uI5oP",  # random-looking, but it was in the tests
    ],
)
def test_weak_secrets_are_refused(secret: str) -> None:
    reason = weakness(secret)
    assert reason is not None
    assert secret not in reason


@pytest.mark.parametrize("make", [secrets.token_urlsafe, secrets.token_hex])
@pytest.mark.parametrize("nbytes", [32, 48])
def test_random_secrets_pass(make: Callable[[int], str], nbytes: int) -> None:
    for _ in range(20):
        assert weakness(make(nbytes)) is None


def _key_literals_in_python(path: Path) -> Iterator[str]:
    """String constants given to names, keywords or dict keys that mention a secret or key."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        pairs: list[tuple[str, ast.expr]] = []
        if isinstance(node, ast.Assign):
            pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
        for name, value in pairs:
            if name.upper().endswith("_FILE"):  # a path to where a key lies (GRPC_TLS_KEY_FILE), not a key
                continue
            if _KEY_NAME.search(name) and isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
                text = value.value.decode() if isinstance(value.value, bytes) else value.value
                yield from _key_parts(name, text)


def _key_parts(name: str, text: str) -> Iterator[str]:
    for part in (p.strip() for p in text.split(",")):
        key = part.rsplit(":", 1)[-1] if name.upper() == "API_KEYS" or part.count(":") == 2 else part
        if len(key.encode()) >= 32:
            yield key


def published_key_literals() -> list[str]:
    found: set[str] = set()
    for path in [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "bench").rglob("*.py"))]:
        found.update(_key_literals_in_python(path))
    for doc in ("README.md", "SECURITY.md"):
        if (ROOT / doc).is_file():
            for name, value in _ENV_KEY.findall((ROOT / doc).read_text(encoding="utf-8")):
                found.update(_key_parts(name, value))
    return sorted(found)


def test_the_scan_finds_the_known_literals() -> None:
    literals = published_key_literals()
    assert "k3Y-for-tests-only_9fQ2xZ7wL1mN8vB4cR6tY0uI5oP" in literals  # tests/test_workers.py
    assert "wck_test-admin-key-0123456789abcdefghijklmnopq" in literals  # tests/support/auth.py


@pytest.mark.parametrize("literal", published_key_literals())
def test_every_key_published_in_the_repository_is_refused(literal: str) -> None:
    """A key written into README, SECURITY.md, tests or bench is public: refused by a pattern, or listed
    in secret_strength.PUBLISHED_SHA256 (add `hashlib.sha256(key.encode()).hexdigest()` there)."""
    assert weakness(literal) is not None, f"published key {literal[:6]}... passes the strength check"


@pytest.mark.parametrize("encoded", SMALL_ORDER)
def test_small_order_public_keys_are_refused(encoded: str) -> None:
    assert ed25519_public_weakness(bytes.fromhex(encoded)) == "a point of small order (it accepts forged signatures)"


def test_public_keys() -> None:
    rfc = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert ed25519_public_weakness(rfc) is not None
    assert ed25519_public_weakness(bytes.fromhex("ed" + "ff" * 30 + "7f")) == "not a canonical point of Ed25519"
    for _ in range(20):
        fresh = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert ed25519_public_weakness(fresh) is None


def test_private_key_seeds() -> None:
    assert ed25519_seed_weakness(bytes(32)) is not None
    assert ed25519_seed_weakness(bytes(range(32))) is not None
    assert ed25519_seed_weakness(RFC8032_SEED) is None  # its public key is what gives it away
    fresh = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert ed25519_seed_weakness(fresh) is None
