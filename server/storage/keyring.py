"""Data-encryption keys and the AEAD that seals personal fields at rest (issue 18).

A keyring holds numbered 32-byte AES-256-GCM keys; the first one of `DATA_KEYS` is active and seals
new values, the others only open what they sealed before (rotation, `python -m server rekey`). A sealed
value is text: `wc1.<key id>.<base64url(nonce | ciphertext | tag)>`, so every value names its key. The
associated data is the value's place (table, column, row identity): a value copied into another row or
column fails its tag check and raises `UnreadableValueError` instead of showing someone else's data.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rpc.errors import DataUnreadable

KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "wc1"
DEV_KEYS_FILE = "var/data-keys"  # dev only: made once (mode 0600) when neither DATA_KEYS nor DATA_KEYS_FILE is set
MAX_KEY_ID = 999_999


class KeyringError(ValueError):
    """`DATA_KEYS` (or its file) is malformed; the message never contains a key."""


class UnreadableValueError(DataUnreadable):
    """A sealed value does not open: its key is not in the ring, or it was altered or moved to another row.

    The message names the place and the key id, never the value.
    """


class SealedToken(str):
    """A sealed value on its way into a sealed column; plain `str` is refused there (models.Sealed)."""

    __slots__ = ()


@dataclass(frozen=True)
class DataKey:
    """One `id:key` entry of DATA_KEYS."""

    id: int
    key: bytes = field(repr=False)


def parse_data_keys(raw: str, *, source: str = "DATA_KEYS") -> tuple[DataKey, ...]:
    """`2:<base64 32 bytes>,1:<...>` (commas or new lines; the first entry is active).

    Raises:
        KeyringError: an entry is not `id:base64`, an id repeats, or a key is not 32 bytes.
    """
    entries = [e.strip() for e in raw.replace("\n", ",").split(",") if e.strip() and not e.strip().startswith("#")]
    keys: list[DataKey] = []
    for index, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        try:
            number = int(kid)
            text = encoded.strip().replace("-", "+").replace("_", "/")  # standard or URL-safe alphabet
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (ValueError, binascii.Error):
            number, key = 0, b""
        if not sep or not 1 <= number <= MAX_KEY_ID or len(key) != KEY_BYTES:
            # never echo the entry: it holds the key
            raise KeyringError(
                f"{source} entry {index} must be <id 1-{MAX_KEY_ID}>:<{KEY_BYTES} random bytes in base64>"
            )
        if any(k.id == number for k in keys):
            raise KeyringError(f"{source} key ids must be unique, {number} appears twice")
        keys.append(DataKey(number, key))
    if not keys:
        raise KeyringError(f"{source} holds no key")
    return tuple(keys)


def new_key_entry(key_id: int = 1) -> str:
    """A fresh `id:key` entry (what `make_dev_keys` writes and README tells operators to run)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def dev_keys(path: Path) -> tuple[DataKey, ...]:
    """The development keyring in `path`, made once (mode 0600) when missing, so data survives restarts.

    Raises:
        KeyringError: the file exists but is not a valid keyring.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, or by another process a moment ago
    else:
        with os.fdopen(fd, "w") as out:
            out.write(f"# WuffChat development data keys (first active); keep with the database\n{new_key_entry()}\n")
    return parse_data_keys(path.read_text(), source=str(path))


def aad(table: str, column: str, identity: Sequence[object]) -> bytes:
    """The associated data of one field: its table, column and row identity, unambiguously encoded."""
    return json.dumps([table, column, *(str(part) for part in identity)], separators=(",", ":")).encode()


def key_id_of(token: str) -> int | None:
    """The key id a sealed value names, or None when it is not a sealed value."""
    prefix, _, rest = token.partition(".")
    kid, _, _ = rest.partition(".")
    return int(kid) if prefix == PREFIX and kid.isdigit() else None


class Keyring:
    """The data keys of this process; `active` seals, every key opens what it sealed."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        self.active_id = keys[0].id
        self._aeads: Mapping[int, AESGCM] = {k.id: AESGCM(k.key) for k in keys}

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(self._aeads)

    def seal(self, plaintext: bytes, associated: bytes) -> SealedToken:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aeads[self.active_id].encrypt(nonce, plaintext, associated)
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        return SealedToken(f"{PREFIX}.{self.active_id}.{body}")

    def open(self, token: str, associated: bytes, *, where: str) -> bytes:
        """The plaintext of `token`.

        Raises:
            UnreadableValueError: not a sealed value, its key is not in the ring, or the tag check fails
                (altered, or sealed for another place). `where` names the place in the message.
        """
        kid = key_id_of(token)
        if kid is None:
            raise UnreadableValueError(f"{where}: not a sealed value")
        aead = self._aeads.get(kid)
        if aead is None:
            raise UnreadableValueError(f"{where}: sealed with data key {kid}, which DATA_KEYS lacks")
        body = token.split(".", 2)[2]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except (InvalidTag, ValueError, binascii.Error):
            raise UnreadableValueError(
                f"{where}: does not open with data key {kid} (altered, or copied from another row)"
            ) from None
