"""JSON log lines: the per-call "rpc" line goes through structlog like every other line, one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from server import log


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


Configure = Callable[[str], CountingStream]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """`configure(level)` runs `configure_logging` into a fresh stream; everything it changed is restored after."""
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved_levels = {name: logging.getLogger(name).level for name in log._THIRD_PARTY}

    def run(level: str) -> CountingStream:
        stream = CountingStream()
        log.configure_logging(level, stream=stream)
        return stream

    yield run
    structlog.configure(**saved_structlog)
    root.handlers[:], _ = saved_root
    root.setLevel(saved_root[1])
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
    structlog.contextvars.unbind_contextvars("worker")


def _rpc_line(n: int, **fields: object) -> None:
    # a logger of its own: module-level proxies elsewhere must not cache this test's configuration
    structlog.get_logger("wuffchat.rpc").info("rpc", n=n, **fields)


def _lines(stream: CountingStream) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_rpc_lines_are_one_json_object_each_and_flushed(configure: Configure) -> None:
    stream = configure("INFO")
    for n in range(3):
        _rpc_line(n, user_agent="evil\nline")
    lines = _lines(stream)
    assert [line["n"] for line in lines] == [0, 1, 2]  # the newline in a value did not split a line
    assert all(line["user_agent"] == "evil\nline" and line["event"] == "rpc" for line in lines)
    assert all(line["level"] == "info" and str(line["timestamp"]).endswith("Z") for line in lines)
    assert stream.flushes >= 3  # each line is out once written


def test_below_its_level_nothing_is_written(configure: Configure) -> None:
    stream = configure("WARNING")
    _rpc_line(1)
    assert stream.getvalue() == ""


def test_bound_process_fields_are_on_every_line(configure: Configure) -> None:
    stream = configure("INFO")
    log.bind_process(worker=2)
    _rpc_line(1)
    logging.getLogger("asyncio").warning("a stdlib line")
    assert [line["worker"] for line in _lines(stream)] == [2, 2]


def test_lines_inside_a_span_carry_its_trace_and_span_ids(configure: Configure) -> None:
    """The running span's ids are added by a structlog processor, so the per-call line carries them too."""
    tracer = TracerProvider().get_tracer("test")  # a provider of its own: nothing global changes
    stream = configure("INFO")
    _rpc_line(0)
    with tracer.start_as_current_span("call") as span:
        _rpc_line(1)
        processed = log.add_trace_ids(None, "info", {"event": "x"})
    outside, inside = _lines(stream)
    ids = span.get_span_context()
    assert "trace_id" not in outside and "span_id" not in outside
    assert inside["trace_id"] == format(ids.trace_id, "032x") and inside["span_id"] == format(ids.span_id, "016x")
    assert processed["trace_id"] == inside["trace_id"]
    assert "trace_id" not in log.add_trace_ids(None, "info", {"event": "y"})
