"""Messages as the terminal shows them: an exercise's steps as an indented numbered list after its text.

The dog's answer streams in as text in which an exercise's steps are plain lines ("1. ..."); the
structured steps arrive only with the final turn. `StreamPrinter` therefore writes the stream as it comes
but holds it back from the first line that looks like a numbered step, and writes the rest from the final
messages once they are known.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TextIO

from wuffchat_client.models import Message

STEP_INDENT = "  "
# A line that is (or may still become, while it is incomplete) a numbered step: "1. ", "12.", "3".
_STEP_LINE = re.compile(r"\d+\. ")
_STEP_PREFIX = re.compile(r"\d+\.?")


def message_text(message: Message) -> str:
    """The message's text; with steps, its text without the step lines and then the steps, one per line,
    indented and numbered (numbers right-aligned)."""
    if not message.steps:
        return message.text
    width = len(str(len(message.steps)))
    steps = "\n".join(f"{STEP_INDENT}{n:>{width}}. {step}" for n, step in enumerate(message.steps, 1))
    intro = message.text_without_steps
    return f"{intro}\n{steps}" if intro else steps


def turn_text(messages: Sequence[Message]) -> str:
    """A turn's messages as the stream carries them: separated by blank lines."""
    return "\n\n".join(message_text(m) for m in messages)


class StreamPrinter:
    """Writes streamed text to `out` as it arrives, except from a line that may start a step list on.

    `finish(messages)` writes what was held back: from the final messages (steps as a list) when what was
    already written agrees with them, else the streamed text as it came, so nothing is ever lost.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._written: list[str] = []
        self._held = ""
        self._frozen = False  # a step line was seen: everything after it waits for the final messages

    def feed(self, delta: str) -> None:
        if self._frozen:
            self._held += delta
            return
        text = self._held + delta
        start = 0 if not self._written or self._written[-1].endswith("\n") else -1
        cut = len(text)
        while True:
            if start >= 0:
                end = text.find("\n", start)
                line = text[start:] if end < 0 else text[start:end]
                if _STEP_LINE.match(line):
                    self._frozen = True
                    cut = start
                    break
                if end < 0 and _STEP_PREFIX.fullmatch(line):
                    cut = start  # maybe the start of a step: wait for more of this line
                    break
            newline = text.find("\n", max(start, 0))
            if newline < 0:
                break
            start = newline + 1
        self._write(text[:cut])
        self._held = text[cut:]

    def finish(self, messages: Sequence[Message] | None) -> None:
        """Write the rest of the turn; `None` (the stream ended without a final turn) writes what was held."""
        written = "".join(self._written)
        final = turn_text(messages) if messages is not None else ""
        if messages is not None and final.startswith(written):
            self._write(final[len(written) :])
        else:
            self._write(self._held)
        self._held = ""
        self._frozen = False

    def _write(self, text: str) -> None:
        if text:
            self._written.append(text)
            self._out.write(text)
            self._out.flush()
