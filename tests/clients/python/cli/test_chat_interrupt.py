"""Ctrl-C at many moments of `wuffchat chat`: right after the tip line (the signal may land just before
the read of stdin), taken by a thread other than the main one, and while an answer streams in. It always
leaves within seconds, with its goodbye and exit code 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.clients.python.cli.conftest import Cli
from tests.support.auth import SERVICE_KEY

LEAVE_WITHIN = 10.0


async def _interrupt(process: asyncio.subprocess.Process) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = await asyncio.wait_for(process.communicate(), LEAVE_WITHIN)
    assert time.monotonic() - started < LEAVE_WITHIN
    return out.decode(), err.decode()


async def _wait_for(process: asyncio.subprocess.Process, text: str) -> None:
    assert process.stdout is not None
    seen = ""
    while text not in seen:
        chunk = await asyncio.wait_for(process.stdout.read(1), 30)
        assert chunk, f"chat ended before {text!r}: {seen!r}"
        seen += chunk.decode(errors="replace")


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.01])
async def test_chat_ctrl_c_right_after_the_tip_line(cli: Cli, delay: float) -> None:
    for _ in range(3):
        process = await cli.spawn("--api-key", SERVICE_KEY, "chat")
        await _wait_for(process, "beendet)\n")
        await asyncio.sleep(delay)
        out, err = await _interrupt(process)
        assert process.returncode == 0, err
        assert out.rstrip().endswith("Tschüss!") and "Traceback" not in err


def _other_threads(pid: int) -> list[int]:
    return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)


async def test_chat_ctrl_c_taken_by_another_thread(cli: Cli) -> None:
    """kill(2) on a thread id offers the process-wide signal to that thread first: today a grpc thread
    took it, ran Python's C handler there, and the main thread slept on in read(2) (the suite's flake)."""
    for index in range(4):
        process = await cli.spawn("--api-key", SERVICE_KEY, "chat")
        await _wait_for(process, "beendet)\n")
        threads = _other_threads(process.pid)
        assert threads, "the client runs a loop thread and grpc's threads"
        os.kill(threads[index % len(threads)], signal.SIGINT)
        started = time.monotonic()
        out, err = await asyncio.wait_for(process.communicate(), LEAVE_WITHIN)
        assert time.monotonic() - started < LEAVE_WITHIN
        assert process.returncode == 0, err
        assert out.decode().rstrip().endswith("Tschüss!") and "Traceback" not in err.decode()


async def test_stream_ctrl_c_while_the_answer_streams(cli: Cli) -> None:
    for _ in range(3):
        process = await cli.spawn("--api-key", SERVICE_KEY, "chat")
        assert process.stdin is not None
        await _wait_for(process, "beendet)\n")
        process.stdin.write("Mein Hund bellt jeden Besucher an der Haustür laut an.\n".encode())
        await process.stdin.drain()
        await _wait_for(process, "Ich")
        out, err = await _interrupt(process)
        assert process.returncode == 0, err
        assert out.rstrip().endswith("Tschüss!") and "Traceback" not in err


HANGING_CLOSE = """
import argparse, sys, time
from wuffchat_client.cli import chat as chat_module
from wuffchat_client.cli.context import Context

chat_module.LEAVE_GRACE_SECONDS = 0.5

class Hanging:
    def start_conversation(self, language):
        raise KeyboardInterrupt  # Ctrl-C while the chat starts
    def close(self, timeout=None):
        time.sleep(60)  # a channel that does not close

args = argparse.Namespace(lang="en", json=False, target="127.0.0.1:1", api_key=None, tls=False, ca_file=None,
                          timeout=1.0, resume=None, command="chat")
ctx = Context(args)
ctx.client = lambda **_: Hanging()
sys.exit(chat_module.chat(ctx))
"""


async def test_chat_ctrl_c_leaves_even_when_the_connection_does_not_close(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HANGING_CLOSE,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )
    started = time.monotonic()
    out, err = await asyncio.wait_for(process.communicate(), LEAVE_WITHIN)
    assert time.monotonic() - started < LEAVE_WITHIN
    assert process.returncode == 0 and out.decode() == "\n"  # no goodbye: it never got that far
    assert err.decode() == "wuffchat: the connection did not close within 0.5 s; leaving anyway\n"
