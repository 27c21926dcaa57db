"""The data keyring: AES-GCM with the value's place as associated data, key ids, parsing, the dev key file."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest

from server.storage.keyring import (
    DataKey,
    Keyring,
    KeyringError,
    SealedToken,
    UnreadableValueError,
    aad,
    dev_keys,
    key_id_of,
    parse_data_keys,
)

K1 = DataKey(1, hashlib.sha256(b"keyring test 1").digest())
K2 = DataKey(2, hashlib.sha256(b"keyring test 2").digest())
HERE = aad("users", "email", ("u1",))


def test_seal_open_round_trip_names_the_key() -> None:
    ring = Keyring([K1])
    token = ring.seal(b"anna@example.org", HERE)
    assert isinstance(token, SealedToken)
    assert token.startswith("wc1.1.") and key_id_of(token) == 1
    assert "anna" not in token
    assert ring.open(token, HERE, where="x") == b"anna@example.org"
    assert ring.seal(b"same", HERE) != ring.seal(b"same", HERE), "a fresh nonce per value"


@pytest.mark.parametrize(
    "elsewhere",
    [aad("users", "email", ("u2",)), aad("users", "password_hash", ("u1",)), aad("feedback", "email", ("u1",))],
    ids=["other row", "other column", "other table"],
)
def test_value_moved_elsewhere_does_not_open(elsewhere: bytes) -> None:
    ring = Keyring([K1])
    token = ring.seal(b"anna@example.org", HERE)
    with pytest.raises(UnreadableValueError, match="copied from another row") as caught:
        ring.open(token, elsewhere, where="users.email of row u2")
    assert "anna" not in str(caught.value) and token not in str(caught.value)


def test_altered_value_does_not_open() -> None:
    ring = Keyring([K1])
    token = ring.seal(b"anna@example.org", HERE)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(UnreadableValueError):
        ring.open(flipped, HERE, where="x")
    with pytest.raises(UnreadableValueError, match="not a sealed value"):
        ring.open("anna@example.org", HERE, where="x")


def test_rotation_new_key_seals_old_key_opens() -> None:
    old = Keyring([K1]).seal(b"old", HERE)
    ring = Keyring([K2, K1])
    assert ring.active_id == 2 and ring.ids == {1, 2}
    assert key_id_of(ring.seal(b"new", HERE)) == 2
    assert ring.open(old, HERE, where="x") == b"old"
    with pytest.raises(UnreadableValueError, match="data key 1, which DATA_KEYS lacks"):
        Keyring([K2]).open(old, HERE, where="x")


def test_parse_first_entry_is_active_and_errors_never_echo_keys() -> None:
    raw = f"2:{base64.b64encode(K2.key).decode()}, 1:{base64.urlsafe_b64encode(K1.key).decode()}"
    assert parse_data_keys(raw) == (K2, K1)
    assert parse_data_keys(raw.replace(",", "\n# comment\n")) == (K2, K1)
    short = base64.b64encode(b"s3cr3t-too-short").decode()
    for bad in (f"1:{short}", f"x:{base64.b64encode(K1.key).decode()}", "1", f"0:{base64.b64encode(K1.key).decode()}"):
        with pytest.raises(KeyringError, match="DATA_KEYS entry 1 must be") as caught:
            parse_data_keys(bad)
        assert short not in str(caught.value)
    with pytest.raises(KeyringError, match="1 appears twice"):
        parse_data_keys(f"1:{base64.b64encode(K1.key).decode()},1:{base64.b64encode(K2.key).decode()}")
    with pytest.raises(KeyringError, match="holds no key"):
        parse_data_keys(" , ")


def test_dev_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "data-keys"
    first = dev_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 1 and first[0].id == 1 and len(first[0].key) == 32
    assert dev_keys(path) == first, "kept, so data sealed before a restart still opens"
