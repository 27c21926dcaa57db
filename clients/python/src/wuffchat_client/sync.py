"""`Client`: the blocking twin of `AsyncClient`, for scripts and the CLI.

It runs an `AsyncClient` on a private event loop in a daemon thread and waits for each call, so both
share one implementation (credentials, refresh, errors). The waits are interruptible: Ctrl-C in the
calling thread raises KeyboardInterrupt there, and `close()` then cancels what is still running.

The loop thread, and every thread grpc starts from it, blocks SIGINT and SIGTERM: a process-wide signal
is then always taken by a thread that still accepts it (the main thread), never by a grpc thread whose
handler run would leave the main thread asleep in a blocking read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
import time
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

from wuffchat_client._channel import DEFAULT_TARGET
from wuffchat_client._credentials import TokensListener
from wuffchat_client._stream import MessageStream
from wuffchat_client.aio import AsyncClient
from wuffchat_client.models import BehaviorMatch, Conversation, ConversationPage, Profile, TokenPair, Turn

T = TypeVar("T")

# Signals the loop thread (and grpc's threads, which inherit its mask) leave to the main thread.
_MAIN_THREAD_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# How often a wait wakes to let a pending signal's handler run in the waiting thread.
_WAIT_SLICE_SECONDS = 0.25


class SyncMessageStream:
    """Iterator of text deltas; `turn` holds the final state once it is exhausted."""

    def __init__(self, client: Client, stream: MessageStream) -> None:
        self._client = client
        self._stream = stream

    @property
    def turn(self) -> Turn | None:
        return self._stream.turn

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            return self._client._run(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Stop early: the call is cancelled."""
        self._client._run(self._stream.aclose())

    def collect(self) -> Turn:
        """Read the whole stream and return the final turn (see `MessageStream.collect`)."""
        return self._client._run(self._stream.collect())


class Client:
    """Blocking WuffChat client; the arguments are those of `AsyncClient`. Close it (or use `with`)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        tokens: TokenPair | None = None,
        on_tokens: TokensListener | None = None,
        language: str = "de",
        tls: bool = False,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        timeout: float = 10.0,
        stream_timeout: float = 60.0,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wuffchat-client", daemon=True)
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _MAIN_THREAD_SIGNALS)
        try:
            self._thread.start()  # a new thread inherits the blocked signals
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

        async def build() -> AsyncClient:  # the channel must be created on the loop that uses it
            return AsyncClient(
                target,
                api_key=api_key,
                tokens=tokens,
                on_tokens=on_tokens,
                language=language,
                tls=tls,
                ca_file=ca_file,
                cert_file=cert_file,
                key_file=key_file,
                timeout=timeout,
                stream_timeout=stream_timeout,
            )

        try:
            self._client = self._run(build())
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not concurrent.futures.wait([future], _WAIT_SLICE_SECONDS).done:
                # back in Python between slices: a pending signal's handler (KeyboardInterrupt) runs here
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C while waiting: do not leave the call running
            raise

    def _stop_loop(self, timeout: float | None = None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def close(self, timeout: float | None = None) -> None:
        """Close the channel and stop the loop thread.

        With `timeout`, wait at most about that long; a loop that has not stopped by then is left to
        the daemon thread (the process can still exit).
        """
        if self._loop.is_closed() or not self._thread.is_alive():
            return
        try:
            self._run(self._client.close(), timeout)
        except TimeoutError:
            pass
        finally:
            self._stop_loop(timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def tokens(self) -> TokenPair | None:
        return self._client.tokens

    @property
    def language(self) -> str:
        return self._client.language

    def health(self, service: str = "") -> str:
        return self._run(self._client.health(service))

    def register(self, email: str, password: str) -> str:
        return self._run(self._client.register(email, password))

    def login(self, email: str, password: str) -> TokenPair:
        return self._run(self._client.login(email, password))

    def refresh(self) -> TokenPair:
        return self._run(self._client.refresh())

    def logout(self, *, all_sessions: bool = False) -> None:
        self._run(self._client.logout(all_sessions=all_sessions))

    def profile(self) -> Profile:
        return self._run(self._client.profile())

    def change_password(self, current_password: str, new_password: str) -> None:
        self._run(self._client.change_password(current_password, new_password))

    def export_my_data(self) -> dict[str, Any]:
        return self._run(self._client.export_my_data())

    def delete_account(self, password: str) -> None:
        self._run(self._client.delete_account(password))

    def start_conversation(self, language: str | None = None) -> Conversation:
        return self._run(self._client.start_conversation(language))

    def send_message(self, conversation_id: str, text: str) -> Turn:
        return self._run(self._client.send_message(conversation_id, text))

    def stream_message(self, conversation_id: str, text: str) -> SyncMessageStream:
        return SyncMessageStream(self, self._client.stream_message(conversation_id, text))

    def history(self, conversation_id: str) -> Conversation:
        return self._run(self._client.history(conversation_id))

    def list_conversations(self, page_size: int = 20, page_token: str = "") -> ConversationPage:
        return self._run(self._client.list_conversations(page_size, page_token))

    def delete_conversation(self, conversation_id: str) -> None:
        self._run(self._client.delete_conversation(conversation_id))

    def search_behaviors(self, query: str, limit: int = 5, language: str | None = None) -> list[BehaviorMatch]:
        return self._run(self._client.search_behaviors(query, limit, language))
