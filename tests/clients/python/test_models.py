"""`Message`: the exercise steps taken from the proto, and the text without the step lines."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat_client import Message, MessageKind, Sender

STEPS = ("Leine kurz halten und stehen bleiben, sobald sie sich spannt.", "Erst weitergehen, wenn sie locker ist.")
TEXT = "Übung: Lockere Leine. Wir üben das zuerst im Garten.\n1. " + STEPS[0] + "\n2. " + STEPS[1]


def _message(text: str, steps: tuple[str, ...] = ()) -> Message:
    return Message(Sender.COMPANION, text, MessageKind.INSTRUCTION, datetime(2025, 1, 1, tzinfo=UTC), steps)


def test_from_pb_carries_the_steps_in_order() -> None:
    reply = conv_pb.Message(
        sender=conv_pb.SENDER_COMPANION,
        kind=conv_pb.MESSAGE_KIND_INSTRUCTION,
        text=TEXT,
        steps=list(STEPS),
        created_at=timestamp_pb2.Timestamp(seconds=1_700_000_000),
    )
    message = Message.from_pb(reply)
    assert message.steps == STEPS and isinstance(message.steps, tuple)
    assert (message.sender, message.kind) == (Sender.COMPANION, MessageKind.INSTRUCTION)
    assert message.text == TEXT
    assert message.text_without_steps == "Übung: Lockere Leine. Wir üben das zuerst im Garten."


def test_from_pb_without_steps_is_an_empty_tuple() -> None:
    message = Message.from_pb(conv_pb.Message(sender=conv_pb.SENDER_DOG, text="Wuff.\n1. kein Schritt"))
    assert message.steps == ()
    assert message.text_without_steps == "Wuff.\n1. kein Schritt"


def test_text_without_steps_drops_only_the_last_step_lines() -> None:
    intro = "Zeile eins.\nZeile zwei mit 1. einer Zahl."
    assert _message(f"{intro}\n1. a\n2. b\n3. c", ("a", "b", "c")).text_without_steps == intro
    # A blank line before the steps and a trailing newline are not part of the text shown above the list.
    assert _message(f"{intro}\n\n1. a\n2. b\n", ("a", "b")).text_without_steps == intro


def test_text_without_steps_when_the_text_is_only_steps() -> None:
    assert _message("1. a\n2. b", ("a", "b")).text_without_steps == ""
    assert _message("1. a", ("a", "b")).text_without_steps == ""
