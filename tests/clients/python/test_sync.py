"""The blocking Client against the real server (called from a worker thread, so the test's event loop,
which runs the server, keeps serving)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from pathlib import Path

import pytest
from wuffchat_client import Client, ConversationState, NotFound, RateLimited, Unavailable

from tests.conftest import StartServer
from tests.support.auth import PASSWORD, SERVICE_KEY, rate_limits
from tests.support.net import free_port


def user_session(target: str) -> None:
    with Client(target) as client:
        email = f"sync-{uuid.uuid4().hex[:12]}@example.org"
        client.register(email, PASSWORD)
        client.login(email, PASSWORD)
        assert client.profile().email == email
        conversation = client.start_conversation()
        stream = client.stream_message(conversation.id, "Mein Hund zieht beim Spazierengehen ständig an der Leine.")
        deltas = list(stream)
        assert stream.turn is not None and stream.turn.state is ConversationState.WAIT_FOR_CONFIRMATION
        assert "".join(deltas) == "\n\n".join(m.text for m in stream.turn.messages)
        turn = client.send_message(conversation.id, "ja")
        assert turn.state is ConversationState.WAIT_FOR_CONTEXT
        assert len(client.history(conversation.id).messages) == 2 + 1 + len(stream.turn.messages) + 1 + len(
            turn.messages
        )
        assert [c.id for c in client.list_conversations().conversations] == [conversation.id]
        assert client.search_behaviors("Mein Hund bellt jeden Besucher an, der zu uns in die Wohnung kommt.")
        assert email in str(client.export_my_data())
        client.refresh()
        client.delete_conversation(conversation.id)
        with pytest.raises(NotFound):
            client.history(conversation.id)
        client.change_password(PASSWORD, PASSWORD + " neu")
        client.logout()
        assert client.tokens is None
    client.close()  # closing twice is harmless


async def test_unary_sync_client_every_method(target: str) -> None:
    await asyncio.to_thread(user_session, target)


def early_stop_then_limit(target: str) -> None:
    with Client(target, api_key=SERVICE_KEY) as client:
        assert client.health() == "SERVING"
        conversation = client.start_conversation("en")
        stream = client.stream_message(conversation.id, "My dog barks at every visitor at the door.")
        next(stream)
        stream.close()  # cancels the rest
        with pytest.raises(RateLimited):
            client.start_conversation()


async def test_stream_sync_client_stops_early_and_raises(start_server: StartServer) -> None:
    server = await start_server(RATE_LIMITS=rate_limits("100000/minute", StartConversation="1/minute"))
    await asyncio.to_thread(early_stop_then_limit, f"127.0.0.1:{server.port}")


def _threads() -> dict[int, int]:
    """Thread id -> its blocked-signal mask, for every thread of this process."""
    masks = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(FileNotFoundError):
            status = Path(f"/proc/self/task/{tid}/status").read_text()
            masks[int(tid)] = int(
                next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
            )
    return masks


def test_client_threads_leave_ctrl_c_to_the_calling_thread() -> None:
    """Every thread the client starts (its loop, grpc's pollers and timers) blocks SIGINT and SIGTERM, so
    the kernel hands Ctrl-C to the calling thread, whose blocking wait or read it interrupts."""
    before = set(_threads())
    client = Client(f"127.0.0.1:{free_port()}", timeout=1)
    try:
        with pytest.raises(Unavailable):
            client.health()  # connecting starts grpc's threads
        started = {tid: mask for tid, mask in _threads().items() if tid not in before}
        assert started, "the client runs a loop thread"
        for tid, mask in started.items():
            assert mask & (1 << (signal.SIGINT - 1)) and mask & (1 << (signal.SIGTERM - 1)), (tid, hex(mask))
        assert not signal.pthread_sigmask(signal.SIG_BLOCK, set()) & {signal.SIGINT}  # the caller's mask unchanged
    finally:
        client.close()
