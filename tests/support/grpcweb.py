"""A minimal gRPC-web client over httpx: 5-byte frames, base64 for the text variant, trailers in-band.

Wire format (gRPC-web protocol): each message is `flags(1) length(4, big endian) payload`; flag 0x80
marks the trailer frame, whose payload is `name:value\\r\\n` lines. `application/grpc-web-text` is the
same byte stream base64-encoded, possibly in several independently padded chunks. A trailers-only
reply (an error before any message) carries `grpc-status` in the HTTP headers and has no body.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx

BINARY = "application/grpc-web+proto"
TEXT = "application/grpc-web-text"
TRAILER_FLAG = 0x80


def encode_request(message: bytes, *, text: bool) -> bytes:
    """One uncompressed data frame, base64-encoded for the text variant."""
    frame = struct.pack(">BI", 0, len(message)) + message
    return base64.b64encode(frame) if text else frame


class FrameDecoder:
    """Incremental decoder: feed body bytes as they arrive, get complete frames back."""

    def __init__(self, *, text: bool) -> None:
        self._text = text
        self._pending_b64 = b""
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        if self._text:
            data = self._pending_b64 + b"".join(chunk.split())
            usable = len(data) - len(data) % 4
            self._pending_b64 = data[usable:]
            # Chunks are padded independently, so decode quantum by quantum.
            chunk = b"".join(base64.b64decode(data[i : i + 4]) for i in range(0, usable, 4))
        self._buffer += chunk
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= 5:
            flags, length = struct.unpack(">BI", self._buffer[:5])
            if len(self._buffer) < 5 + length:
                break
            frames.append((flags, self._buffer[5 : 5 + length]))
            self._buffer = self._buffer[5 + length :]
        return frames

    @property
    def leftover(self) -> bytes:
        return self._pending_b64 + self._buffer


def parse_trailers(payload: bytes) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in payload.decode("utf-8").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            trailers[name.strip().lower()] = value.strip()
    return trailers


@dataclass
class GrpcWebReply:
    """One completed gRPC-web call."""

    http_status: int
    headers: httpx.Headers
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def grpc_status(self) -> int | None:
        raw = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return int(raw) if raw is not None else None

    @property
    def grpc_message(self) -> str:
        return self.trailers.get("grpc-message", self.headers.get("grpc-message", ""))


def request_headers(*, text: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    content_type = TEXT if text else BINARY
    return {"content-type": content_type, "accept": content_type, "x-grpc-web": "1", **(extra or {})}


async def unary(
    client: httpx.AsyncClient,
    path: str,
    message: bytes,
    *,
    text: bool = False,
    headers: Mapping[str, str] | None = None,
) -> GrpcWebReply:
    """POST one request message to `path` and read the whole reply."""
    response = await client.post(
        path, content=encode_request(message, text=text), headers=request_headers(text=text, extra=headers)
    )
    reply = GrpcWebReply(http_status=response.status_code, headers=response.headers)
    if not response.headers.get("content-type", "").startswith("application/grpc-web"):
        return reply  # an HTTP-level error from Envoy (404, 413, ...), not a gRPC reply
    decoder = FrameDecoder(text=text)
    for flags, payload in decoder.feed(response.content):
        if flags & TRAILER_FLAG:
            reply.trailers.update(parse_trailers(payload))
        else:
            reply.messages.append(payload)
    if decoder.leftover:
        raise AssertionError(f"truncated gRPC-web body: {decoder.leftover!r}")
    return reply


async def server_stream(
    client: httpx.AsyncClient,
    path: str,
    message: bytes,
    *,
    text: bool = False,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[int, bytes]]:
    """POST one request and yield `(flags, payload)` frames as they arrive (the trailer frame last)."""
    async with client.stream(
        "POST", path, content=encode_request(message, text=text), headers=request_headers(text=text, extra=headers)
    ) as response:
        decoder = FrameDecoder(text=text)
        async for chunk in response.aiter_raw():
            for frame in decoder.feed(chunk):
                yield frame
