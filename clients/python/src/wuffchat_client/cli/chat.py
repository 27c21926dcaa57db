"""`wuffchat chat`: the conversation at the terminal; the dog's answers stream in as they are generated.

One line of input is one message. End of input (Ctrl-D) or Ctrl-C leaves cleanly (exit 0). A message
that meets an expired conversation is not lost: a new conversation is started and the message is sent
again in it. A rate limit or a rejected text is reported and the chat goes on. An exercise's steps are
shown as an indented numbered list (render.py). With --json every turn is one JSON line (the start
included; messages carry `steps` as a list) and nothing else is printed.
"""

from __future__ import annotations

import os
import sys
import threading

from wuffchat_client.cli import failures
from wuffchat_client.cli.context import Context
from wuffchat_client.cli.render import StreamPrinter, message_text
from wuffchat_client.cli.stdin import InterruptibleStdin
from wuffchat_client.cli.texts import hint
from wuffchat_client.errors import ConversationExpired, InvalidArgument, RateLimited
from wuffchat_client.models import Conversation, Turn
from wuffchat_client.sync import Client


class Chat:
    def __init__(self, ctx: Context, client: Client) -> None:
        self.ctx = ctx
        self.client = client
        self.conversation_id = ""

    def start(self) -> None:
        conversation: Conversation = self.client.start_conversation(self.ctx.language)
        self.conversation_id = conversation.id
        for message in conversation.messages:
            self.ctx.say(message_text(message))
        self._hint(Turn(conversation.state, conversation.messages))
        self.ctx.emit(conversation)

    def resume(self, conversation_id: str) -> None:
        conversation = self.client.history(conversation_id)
        self.conversation_id = conversation.id
        if conversation.messages:
            self.ctx.say(message_text(conversation.messages[-1]))
        self.ctx.emit(conversation)

    def _hint(self, turn: Turn) -> None:
        text = hint(self.ctx.language, turn.state)
        if text:
            self.ctx.say(text)

    def turn(self, text: str, *, resend_if_expired: bool = True) -> None:
        """Send one message and show the answer; recoverable errors are reported, not raised.

        If the conversation has expired, a new one is started and `text` is sent again in it (once).
        """
        try:
            stream = self.client.stream_message(self.conversation_id, text)
            printer = None if self.ctx.json else StreamPrinter(sys.stdout)
            for delta in stream:
                if printer is not None:
                    printer.feed(delta)
            turn = stream.turn
            if printer is not None:
                printer.finish(turn.messages if turn is not None else None)
            self.ctx.say()
            if turn is not None:
                self._hint(turn)
                self.ctx.emit({"conversation_id": self.conversation_id, **_turn_fields(turn)})
        except ConversationExpired as exc:
            if not resend_if_expired:
                self._notice(str(exc), "expired")
                return
            self._notice(str(exc), "expired", resend=True)
            self.ctx.say(self.ctx.t("expired_resend"))
            self.start()
            self.turn(text, resend_if_expired=False)
        except RateLimited as exc:
            self._notice(failures.describe(self.ctx.call(), exc), "rate_limited")  # it says how long to wait
        except InvalidArgument as exc:
            self._notice(failures.describe(self.ctx.call(), exc), "invalid_argument")

    def _notice(self, message: str, kind: str, **extra: object) -> None:
        print(message, file=sys.stderr, flush=True)
        self.ctx.emit({"notice": kind, "message": message, **extra})


def _turn_fields(turn: Turn) -> dict[str, object]:
    return {"state": turn.state, "messages": list(turn.messages)}


# How long leaving may take (closing the channel, stopping the client's thread) before the process
# exits anyway: Ctrl-C must end the chat even when the connection does not close.
LEAVE_GRACE_SECONDS = 5.0


def _leave_anyway(ctx: Context) -> None:
    print(f"wuffchat: {ctx.t('leave_forced', seconds=f'{LEAVE_GRACE_SECONDS:g}')}", file=sys.stderr, flush=True)
    os._exit(0)


def chat(ctx: Context) -> int:
    client = ctx.client()
    watchdog = threading.Timer(LEAVE_GRACE_SECONDS, _leave_anyway, (ctx,))
    watchdog.daemon = True
    try:
        with InterruptibleStdin() as stdin:
            ctx.stdin = stdin
            session = Chat(ctx, client)
            if ctx.args.resume:
                session.resume(ctx.args.resume)
            else:
                session.start()
            ctx.say(ctx.t("chat_tip"))
            while True:
                line = ctx.read_line(f"{ctx.t('you')}> ")
                if line is None:
                    break
                if line.strip():
                    session.turn(line)
    except KeyboardInterrupt:
        watchdog.start()
        ctx.say()
    finally:
        client.close(LEAVE_GRACE_SECONDS)
    ctx.say(ctx.t("bye"))
    return 0
