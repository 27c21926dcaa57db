"""The CLI's rendering of steps: a message's steps as an indented numbered list, and the stream printer
that shows the text as it arrives but the steps as a list, however the text is cut into deltas."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from wuffchat_client import Message, MessageKind, Sender
from wuffchat_client.cli.context import to_json
from wuffchat_client.cli.render import StreamPrinter, message_text, turn_text

NOW = datetime(2025, 1, 1, tzinfo=UTC)
INTRO = "Übung: Ruhig an der Tür. Ich lerne, dass die Klingel nichts Besonderes ist."
STEPS = ("Klingel leise abspielen.", "Ruhig bleiben belohnen.", "Lauter werden, Tag für Tag.")
EXERCISE = Message(
    Sender.COMPANION,
    INTRO + "".join(f"\n{n}. {s}" for n, s in enumerate(STEPS, 1)),
    MessageKind.INSTRUCTION,
    NOW,
    STEPS,
)
AFTER = Message(Sender.DOG, "Magst du mir noch ein anderes Verhalten von mir erzählen?", MessageKind.QUESTION, NOW)
BEFORE = Message(Sender.DOG, "Gern!", MessageKind.ANSWER, NOW)
TURN = (BEFORE, EXERCISE, AFTER)
RAW = "\n\n".join(m.text for m in TURN)  # what the stream's deltas add up to


def test_message_text_lists_the_steps_indented_after_the_intro() -> None:
    assert message_text(EXERCISE).splitlines() == [
        INTRO,
        "  1. Klingel leise abspielen.",
        "  2. Ruhig bleiben belohnen.",
        "  3. Lauter werden, Tag für Tag.",
    ]
    assert message_text(AFTER) == AFTER.text


def test_message_text_aligns_ten_and_more_steps() -> None:
    steps = tuple(f"Schritt {n}" for n in range(1, 11))
    text = "Los geht's." + "".join(f"\n{n}. {s}" for n, s in enumerate(steps, 1))
    lines = message_text(Message(Sender.COMPANION, text, MessageKind.INSTRUCTION, NOW, steps)).splitlines()
    assert lines[1] == "   1. Schritt 1" and lines[10] == "  10. Schritt 10"


def test_json_has_the_steps_as_a_list() -> None:
    data = json.loads(to_json(EXERCISE))
    assert data["steps"] == list(STEPS)
    assert data["text"] == EXERCISE.text


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 64, len(RAW)])
def test_stream_printer_shows_text_live_and_steps_as_a_list(size: int) -> None:
    out = io.StringIO()
    printer = StreamPrinter(out)
    for chunk in _chunks(RAW, size):
        printer.feed(chunk)
    # Everything before the first step line is already on the screen while the stream runs.
    assert out.getvalue() == f"{BEFORE.text}\n\n{INTRO}\n"
    printer.finish(TURN)
    assert out.getvalue() == turn_text(TURN)
    assert "\n1. Klingel" not in out.getvalue() and "\n  1. Klingel leise abspielen.\n" in out.getvalue()


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_stream_printer_keeps_numbered_text_that_is_no_step_list(size: int) -> None:
    text = "Ich bin 3 Jahre alt.\n2. Reihe: das ist mein Platz.\n12\n10 Minuten reichen."
    message = Message(Sender.DOG, text, MessageKind.ANSWER, NOW)
    out = io.StringIO()
    printer = StreamPrinter(out)
    for chunk in _chunks(text, size):
        printer.feed(chunk)
    assert out.getvalue() == "Ich bin 3 Jahre alt.\n"
    printer.finish([message])
    assert out.getvalue() == text


def test_stream_printer_writes_the_streamed_text_when_the_final_messages_differ() -> None:
    out = io.StringIO()
    printer = StreamPrinter(out)
    printer.feed("Anders gestreamt.\n1. Schritt")
    printer.finish(TURN)
    assert out.getvalue() == "Anders gestreamt.\n1. Schritt"


def test_stream_printer_without_a_final_turn_writes_what_it_held() -> None:
    out = io.StringIO()
    printer = StreamPrinter(out)
    printer.feed(f"{INTRO}\n1. Klingel")
    printer.finish(None)
    assert out.getvalue() == f"{INTRO}\n1. Klingel"
