"""Scripted conversations ("stories"): what a dog owner should experience, turn by turn.

Every story in `tests/conversation/stories/*.yaml` runs as its own test against the real server (real
grpc.aio on a free port, the real interceptor chain with API-key authentication, SQLite, the embedded
retrieval and the offline responder; the `conversations` fixture of conftest.py). A story starts a
conversation in its language and sends the owner's lines one by one; after each line it checks the
state, the senders of the bot messages in order and, where the story says so, the kinds, the matched
behaviour (its knowledge-base title in the story's language appears in the bot's "understood" line),
substrings that must or must not appear (case-sensitive, over all bot messages of the turn) and whether
an exercise arrived with its steps as separate items (Message.steps, repeated as the numbered tail of
the text). After the last line it checks that no bot sentence occurs twice in the whole conversation,
the greeting included: messages are split into sentences at . ! ? and line breaks; numbered step lines
and pieces shorter than 25 characters ("Ja oder Nein?") are not compared.

A failing story means an owner would experience something the issue (#11) and SPEC.md section 6 rule
out; change the story only when the story itself is wrong, never to fit what the code happens to do.

Story format (a YAML list per file; unknown keys are an error, so a typo cannot silently pass):

    - name: correction while the dog waits for yes or no   # unique over all files: the test id
      language: de                                         # StartConversation language
      absent: [" und "]                                    # optional: must not appear in any turn
      turns:
        - say: "Mein Hund bellt jedes Mal, wenn es an der Tür klingelt."
          state: WAIT_FOR_CONFIRMATION                     # ConversationState without its prefix
          speakers: [DOG, DOG, DOG]                        # Sender of each bot message, in order
          kinds: [ANSWER, ANSWER, QUESTION]                # optional: MessageKind of each message
          behavior: bellen-klingel                         # optional: the behaviour understood
          contains: ["..."]                                # optional
          absent: ["..."]                                  # optional
          steps: true                                      # optional: an INSTRUCTION carries steps
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from wuffchat.conversation.v1 import conversation_service_pb2 as pb

from server.knowledge import loader
from tests.conversation.helpers import ALICE, Stub, say

STORIES = Path(__file__).with_name("stories")
BASE = loader.load(Path(__file__).resolve().parents[2] / "data" / "knowledge")
MIN_STORIES = 40
MIN_ENGLISH_TO_THE_END = 8
MIN_SENTENCE_CHARS = 25  # shorter pieces ("Ja oder Nein?", "So geht's:") may well recur
STEP_LINE = re.compile(r"^\s*\d+\.\s")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
STORY_KEYS = frozenset({"name", "language", "absent", "turns"})
TURN_KEYS = frozenset({"say", "state", "speakers", "kinds", "behavior", "contains", "absent", "steps"})


@dataclass(frozen=True)
class Turn:
    """One owner line and what the bot's answer must look like."""

    say: str
    state: str
    speakers: tuple[str, ...]
    kinds: tuple[str, ...] | None = None
    behavior: str | None = None
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    steps: bool | None = None


@dataclass(frozen=True)
class Story:
    """A whole conversation: the owner's lines in order, in one language."""

    name: str
    language: str
    turns: tuple[Turn, ...]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(value)


def _enum_names(value: Any, enum: Any, prefix: str, where: str) -> tuple[str, ...]:
    names = _strings(value, where)
    for name in names:
        enum.Value(prefix + name)  # raises ValueError for an unknown name
    return names


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict) or not {"say", "state", "speakers"} <= raw.keys() or raw.keys() - TURN_KEYS:
        raise ValueError(f"{where}: a turn needs say, state and speakers, and knows only {sorted(TURN_KEYS)}")
    pb.ConversationState.Value("CONVERSATION_STATE_" + str(raw["state"]))
    behavior = raw.get("behavior")
    if behavior is not None and behavior not in BASE.behaviors:
        raise ValueError(f"{where}: unknown behaviour {behavior!r}")
    if not raw["speakers"]:
        raise ValueError(f"{where}: every owner line gets an answer, so speakers cannot be empty")
    steps = raw.get("steps")
    if steps is not None and not isinstance(steps, bool):
        raise ValueError(f"{where}: steps must be true or false")
    return Turn(
        say=str(raw["say"]),
        state=str(raw["state"]),
        speakers=_enum_names(raw["speakers"], pb.Sender, "SENDER_", f"{where} speakers"),
        kinds=_enum_names(raw["kinds"], pb.MessageKind, "MESSAGE_KIND_", f"{where} kinds") if "kinds" in raw else None,
        behavior=behavior,
        contains=_strings(raw["contains"], f"{where} contains") if "contains" in raw else (),
        absent=_strings(raw["absent"], f"{where} absent") if "absent" in raw else (),
        steps=steps,
    )


def load_stories(directory: Path = STORIES) -> list[Story]:
    """Every story of every file, checked for shape; a story-level `absent` applies to each turn."""
    stories: list[Story] = []
    for path in sorted(directory.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            where = f"{path.name}: {raw.get('name') if isinstance(raw, dict) else raw!r}"
            if not isinstance(raw, dict) or not {"name", "language", "turns"} <= raw.keys() or raw.keys() - STORY_KEYS:
                raise ValueError(
                    f"{where}: a story needs name, language and turns, and knows only {sorted(STORY_KEYS)}"
                )
            language = str(raw["language"])
            if language not in ("de", "en"):
                raise ValueError(f"{where}: language must be de or en")
            everywhere = _strings(raw["absent"], f"{where} absent") if "absent" in raw else ()
            turns = []
            for number, item in enumerate(raw["turns"], 1):
                turn = _turn(item, f"{where}, turn {number}")
                turns.append(replace(turn, absent=(*turn.absent, *everywhere)))
            if not turns:
                raise ValueError(f"{where}: no turns")
            stories.append(Story(str(raw["name"]), language, tuple(turns)))
    return stories


ALL_STORIES = load_stories()


def _shown(messages: Sequence[pb.Message]) -> str:
    """The bot messages of a turn, for assertion messages."""
    lines = []
    for m in messages:
        sender = pb.Sender.Name(m.sender).removeprefix("SENDER_")
        kind = pb.MessageKind.Name(m.kind).removeprefix("MESSAGE_KIND_")
        lines.append(f"    [{sender}/{kind}{'/steps' if m.steps else ''}] {m.text}")
    return "\n".join(lines)


def sentences(text: str) -> list[str]:
    """The sentences of a bot message worth comparing: no step lines, nothing shorter than 25 characters."""
    kept = "\n".join(line for line in text.splitlines() if not STEP_LINE.match(line))
    pieces = (" ".join(piece.split()) for piece in SENTENCE_END.split(kept))
    return [piece for piece in pieces if len(piece) >= MIN_SENTENCE_CHARS]


def _check_turn(turn: Turn, number: int, language: str, response: pb.SendMessageResponse) -> None:
    messages = list(response.messages)
    where = f"turn {number} ({turn.say!r}) answered:\n{_shown(messages)}\n"
    state = pb.ConversationState.Name(response.state).removeprefix("CONVERSATION_STATE_")
    assert state == turn.state, f"{where}state {state}, expected {turn.state}"
    speakers = tuple(pb.Sender.Name(m.sender).removeprefix("SENDER_") for m in messages)
    assert speakers == turn.speakers, f"{where}speakers {list(speakers)}, expected {list(turn.speakers)}"
    if turn.kinds is not None:
        kinds = tuple(pb.MessageKind.Name(m.kind).removeprefix("MESSAGE_KIND_") for m in messages)
        assert kinds == turn.kinds, f"{where}kinds {list(kinds)}, expected {list(turn.kinds)}"
    text = "\n".join(m.text for m in messages)
    if turn.behavior is not None:
        title = BASE.behaviors[turn.behavior].text(language).title
        assert title in text, f"{where}expected the behaviour {turn.behavior!r} ({title!r})"
    for expected in turn.contains:
        assert expected in text, f"{where}expected {expected!r}"
    for unwanted in turn.absent:
        assert unwanted not in text, f"{where}must not say {unwanted!r}"
    with_steps = [m for m in messages if m.steps]
    if turn.steps is not None:
        assert bool(with_steps) == turn.steps, f"{where}expected steps: {turn.steps}"
    for m in with_steps:
        assert m.kind == pb.MESSAGE_KIND_INSTRUCTION, f"{where}steps outside an INSTRUCTION"
        numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(m.steps, 1))
        assert m.text.endswith(numbered), f"{where}the text does not end with the steps as a numbered list"


def _repeats(said: list[tuple[int, str]]) -> list[str]:
    """Sentences said twice, with the turns (0 = the opening) that said them."""
    first: dict[str, int] = {}
    found = []
    for number, text in said:
        for sentence in sentences(text):
            if sentence in first:
                found.append(f"turn {first[sentence]} and turn {number}: {sentence!r}")
            else:
                first[sentence] = number
    return found


async def _start(stub: Stub, language: str) -> pb.StartConversationResponse:
    """StartConversation with the opening messages (the async stub is typed as the sync one)."""
    call: Any = stub.StartConversation(pb.StartConversationRequest(language=language), metadata=ALICE)
    response: pb.StartConversationResponse = await call
    return response


@pytest.mark.parametrize("story", ALL_STORIES, ids=[s.name for s in ALL_STORIES])
async def test_story(conversations: Stub, story: Story) -> None:
    started = await _start(conversations, story.language)
    assert started.state == pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    said = [(0, m.text) for m in started.messages]
    for number, turn in enumerate(story.turns, 1):
        response = await say(conversations, started.conversation_id, turn.say)
        _check_turn(turn, number, story.language, response)
        said.extend((number, m.text) for m in response.messages)
    repeated = _repeats(said)
    assert not repeated, "a sentence repeats within the conversation:\n" + "\n".join(repeated)


def test_the_stories_cover_what_the_issue_asks() -> None:
    """At least 40 stories with unique names, and at least 8 whole English conversations (to the thank-you)."""
    names = [s.name for s in ALL_STORIES]
    assert len(names) >= MIN_STORIES
    assert len(set(names)) == len(names), "story names are test ids: they must be unique"
    english_to_the_end = [
        s
        for s in ALL_STORIES
        if s.language == "en" and any(t.state == "FEEDBACK_Q5" for t in s.turns) and s.turns[-1].state == "GREETING"
    ]
    assert len(english_to_the_end) >= MIN_ENGLISH_TO_THE_END


def test_sentences_skip_steps_and_short_pieces() -> None:
    text = "So geht's:\n1. Beginne an einem ruhigen Ort.\n2. Warte.\nDas ist ein ganz normaler, langer Satz. Kurz!"
    assert sentences(text) == ["Das ist ein ganz normaler, langer Satz."]
