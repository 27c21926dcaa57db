"""Page tokens of ListConversations: opaque keyset cursors, tamper-evident, bound to the caller.

Conversations are listed newest first, ties broken by id. A token names the last conversation of the
page it ends (its creation time and id), so the next page is "older than that row", whatever was
inserted or deleted meanwhile (AIP-158): no row is skipped or shown twice while the owner writes.

A token is base64url, unpadded, of: creation time in microseconds since the epoch (8 bytes, big
endian, signed), the conversation id (its 32 raw bytes), then the first 16 bytes of
HMAC-SHA-256(key, owner + cursor). The owner (`kind:id` of the principal) is only in the MAC, so a
token works only for the caller it was issued to. The key is derived from SECRET_KEY with its own
label (never the JWT or CAPTCHA key); previous secrets verify too, so tokens survive a key rotation.
A token must be exactly one the server wrote (canonical base64, right length, valid MAC); anything
else is not a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_KEY_LABEL = b"wuffchat page token v2"
_MICROS = struct.Struct(">q")
_ID_BYTES = 32  # a conversation id is 43 base64url characters
_MAC_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{75}")  # 56 bytes, unpadded base64url
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: the next page starts after it."""

    created_at: datetime
    conversation_id: str


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url `text`, else None."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return None
    return raw if _encode(raw) == text else None  # not canonical: unused low bits set


def _pack(cursor: Cursor) -> bytes:
    micros = (cursor.created_at - _EPOCH) // timedelta(microseconds=1)
    raw_id = _decode(cursor.conversation_id)
    if raw_id is None or len(raw_id) != _ID_BYTES:
        raise ValueError("not a conversation id")
    return _MICROS.pack(micros) + raw_id


def _unpack(packed: bytes) -> Cursor | None:
    (micros,) = _MICROS.unpack(packed[: _MICROS.size])
    try:
        created_at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None
    return Cursor(created_at, _encode(packed[_MICROS.size :]))


class PageTokens:
    """Issues and reads page tokens; the first of `secrets_` signs, all of them verify."""

    def __init__(self, secrets_: Sequence[bytes]) -> None:
        self._keys = [hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest() for secret in secrets_]

    @staticmethod
    def _mac(key: bytes, owner: str, packed: bytes) -> bytes:
        return hmac.new(key, owner.encode() + b"\0" + packed, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, owner: str, cursor: Cursor) -> str:
        """The token of the page after `cursor` for `owner`."""
        packed = _pack(cursor)
        return _encode(packed + self._mac(self._keys[0], owner, packed))

    def cursor(self, owner: str, token: str) -> Cursor | None:
        """The cursor in a token this server issued to `owner`, else None."""
        raw = _decode(token) if _TOKEN.fullmatch(token) else None
        if raw is None:
            return None
        packed, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        signed = False
        for key in self._keys:  # compare with every key, no early exit
            signed |= hmac.compare_digest(self._mac(key, owner, packed), mac)
        return _unpack(packed) if signed else None
