"""The per-call JSON line logger: one JSON object per line, flushed once per event-loop iteration."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

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


@pytest.fixture
def process_fields() -> Iterator[None]:
    saved = dict(log._PROCESS)
    yield
    log._PROCESS.clear()
    log._PROCESS.update(saved)
    structlog.contextvars.unbind_contextvars("worker")


def _lines(stream: CountingStream) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_lines_of_one_loop_iteration_share_one_flush() -> None:
    stream = CountingStream()
    logger = log.JsonLineLogger(stream, logging.INFO)
    for n in range(3):
        logger.info("rpc", n=n, user_agent="evil\nline")
    assert stream.flushes == 0  # not yet: the flush waits for the end of the iteration
    await asyncio.sleep(0)
    assert stream.flushes == 1
    lines = _lines(stream)
    assert [line["n"] for line in lines] == [0, 1, 2]
    assert all(line["user_agent"] == "evil\nline" and line["event"] == "rpc" for line in lines)
    assert all(str(line["timestamp"]).endswith("Z") for line in lines)
    logger.info("rpc", n=3)
    await asyncio.sleep(0)
    assert stream.flushes == 2 and len(_lines(stream)) == 4


def test_outside_a_loop_every_line_is_flushed_at_once() -> None:
    stream = CountingStream()
    log.JsonLineLogger(stream, logging.INFO).info("rpc", n=1)
    assert stream.flushes == 1 and _lines(stream)[0]["n"] == 1


def test_below_its_level_nothing_is_written() -> None:
    stream = CountingStream()
    log.JsonLineLogger(stream, logging.WARNING).info("rpc", n=1)
    assert stream.getvalue() == "" and stream.flushes == 0


@pytest.mark.usefixtures("process_fields")
def test_bound_process_fields_are_on_every_line() -> None:
    stream = CountingStream()
    log.bind_process(worker=2)
    log.JsonLineLogger(stream, logging.INFO).info("rpc", n=1)
    assert _lines(stream)[0]["worker"] == 2


def test_lines_inside_a_span_carry_its_trace_and_span_ids() -> None:
    """Both writers (the per-call line and structlog's processors) add the running span's ids."""
    tracer = TracerProvider().get_tracer("test")  # a provider of its own: nothing global changes
    stream = CountingStream()
    logger = log.JsonLineLogger(stream, logging.INFO)
    logger.info("rpc", n=0)
    with tracer.start_as_current_span("call") as span:
        logger.info("rpc", n=1)
        processed = log.add_trace_ids(None, "info", {"event": "x"})
    outside, inside = _lines(stream)
    ids = span.get_span_context()
    assert "trace_id" not in outside and "span_id" not in outside
    assert inside["trace_id"] == format(ids.trace_id, "032x") and inside["span_id"] == format(ids.span_id, "016x")
    assert processed["trace_id"] == inside["trace_id"]
    assert "trace_id" not in log.add_trace_ids(None, "info", {"event": "y"})
