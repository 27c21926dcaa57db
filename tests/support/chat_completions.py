"""A local server that speaks the OpenAI Chat Completions wire protocol (JSON and SSE streaming, errors).

OpenAI cannot be reached from tests; this stands in for it so the real `openai` client is exercised.
`mode` picks the answer: "ok", "429", "500", "malformed", "empty", "slow" (sleeps past the client's
timeout), "cut" (the SSE stream breaks off after one delta).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = ["Wuff, ", "ich ", "bin ", "dein ", "Hund."]


class FakeOpenAI:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.base_url = ""


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            fake.requests.append(request)
            mode = fake.mode
            if mode in ("429", "500"):
                error = {"error": {"message": "upstream secret detail", "type": "server_error", "code": None}}
                self._send(int(mode), json.dumps(error).encode())
                return
            if mode == "slow":
                time.sleep(4.0)
            if mode == "malformed":
                self._send(200, b'{"choices": "nope"')
                return
            text = "" if mode == "empty" else "".join(REPLY)
            if not request.get("stream"):
                body = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                self._send(200, json.dumps(body).encode())
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            pieces = REPLY[:1] if mode == "cut" else ([] if mode == "empty" else REPLY)
            for piece in pieces:
                self.wfile.write(_chunk(piece))
                self.wfile.flush()
            if mode == "cut":
                self.wfile.write(b"data: {not json\n\n")
                return
            self.wfile.write(_chunk(None, "stop"))
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
