"""Page tokens of ListConversations: issued by the server, tamper-evident, bound to the caller.

A token is base64url, unpadded, of the offset of the next page (4 bytes, big endian) followed by the
first 16 bytes of HMAC-SHA-256(key, owner + offset). The owner (`kind:id` of the principal) is not
in the token but in the MAC, so a token works only for the caller it was issued to. The key is
derived from SECRET_KEY with its own label (never the JWT or CAPTCHA key); previous secrets verify
too, so tokens survive a key rotation. A token must be exactly one the server wrote (canonical
base64, right length, valid MAC, offset within `MAX_OFFSET`); anything else is not a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence

_KEY_LABEL = b"wuffchat page token v1"
_OFFSET = struct.Struct(">I")
_MAC_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{27}")  # 20 bytes, unpadded base64url
MAX_OFFSET = 2**31 - 1  # fits a signed 32-bit integer column on every database


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PageTokens:
    """Issues and reads page tokens; the first of `secrets_` signs, all of them verify."""

    def __init__(self, secrets_: Sequence[bytes]) -> None:
        self._keys = [hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest() for secret in secrets_]

    @staticmethod
    def _mac(key: bytes, owner: str, offset: bytes) -> bytes:
        return hmac.new(key, owner.encode() + b"\0" + offset, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, owner: str, offset: int) -> str:
        """The token of the page starting at `offset` (0..MAX_OFFSET) for `owner`."""
        packed = _OFFSET.pack(offset)
        return _encode(packed + self._mac(self._keys[0], owner, packed))

    def offset(self, owner: str, token: str) -> int | None:
        """The offset in a token this server issued to `owner`, else None."""
        if not _TOKEN.fullmatch(token):
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=")
        except binascii.Error:
            return None
        if _encode(raw) != token:  # not canonical: unused low bits set
            return None
        packed, mac = raw[: _OFFSET.size], raw[_OFFSET.size :]
        signed = False
        for key in self._keys:  # compare with every key, no early exit
            signed |= hmac.compare_digest(self._mac(key, owner, packed), mac)
        (offset,) = _OFFSET.unpack(packed)
        return offset if signed and offset <= MAX_OFFSET else None
