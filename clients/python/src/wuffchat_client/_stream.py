"""`MessageStream`: the dog's answer as it is generated, text delta by text delta, then the final turn."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb

from wuffchat_client.models import Turn


class MessageStream:
    """Async iterator of text deltas (str). Once it is exhausted, `turn` holds the new state and the
    complete messages (the deltas joined are their texts, separated by blank lines).

    Iterating raises the client's exceptions (`ConversationExpired`, `RateLimited`, ...).
    """

    def __init__(self, events: AsyncGenerator[conv_pb.StreamMessageResponse, None]) -> None:
        self._events = events
        self.turn: Turn | None = None

    def __aiter__(self) -> MessageStream:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await anext(self._events)
            if event.HasField("done"):
                self.turn = Turn.from_pb(event.done)
                continue
            return event.delta

    async def aclose(self) -> None:
        """Stop early: the call is cancelled."""
        await self._events.aclose()

    async def collect(self) -> Turn:
        """Read the whole stream and return the final turn.

        Raises:
            WuffChatError: the call failed.
            RuntimeError: the server ended the stream without a final turn.
        """
        async for _ in self:
            pass
        if self.turn is None:
            raise RuntimeError("the stream ended without a final turn")
        return self.turn
