"""The values one turn works with: the flow's states, a bot message (`Part`), the turn's result (`Plan`)
and what an action sees (`Turn`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from wuffchat.conversation.v1 import conversation_service_pb2 as pb

from server.knowledge.search import KnowledgeSearch
from server.knowledge.types import Behavior, KnowledgeBase

from . import texts
from .responders.interface import Composition


class State(IntEnum):
    GREETING = pb.CONVERSATION_STATE_GREETING
    WAIT_FOR_SYMPTOM = pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM
    WAIT_FOR_CONFIRMATION = pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION
    WAIT_FOR_CONTEXT = pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT
    ASK_FOR_EXERCISE = pb.CONVERSATION_STATE_ASK_FOR_EXERCISE
    END_OR_RESTART = pb.CONVERSATION_STATE_END_OR_RESTART
    FEEDBACK_Q1 = pb.CONVERSATION_STATE_FEEDBACK_Q1
    FEEDBACK_Q2 = pb.CONVERSATION_STATE_FEEDBACK_Q2
    FEEDBACK_Q3 = pb.CONVERSATION_STATE_FEEDBACK_Q3
    FEEDBACK_Q4 = pb.CONVERSATION_STATE_FEEDBACK_Q4
    FEEDBACK_Q5 = pb.CONVERSATION_STATE_FEEDBACK_Q5


DOG, COMPANION = pb.SENDER_DOG, pb.SENDER_COMPANION
GREETING, QUESTION, ANSWER = pb.MESSAGE_KIND_GREETING, pb.MESSAGE_KIND_QUESTION, pb.MESSAGE_KIND_ANSWER
INSTRUCTION, ERROR = pb.MESSAGE_KIND_INSTRUCTION, pb.MESSAGE_KIND_ERROR
MIN_SYMPTOM_CHARS = 10
MIN_CONTEXT_CHARS = 3
SHORT_REPLY_WORDS = 4  # "nein danke, das wars": a reply, not a new description
ANY = None  # matches every intent that has no entry of its own
SLOTS = ("behavior_id", "behavior_title", "symptom", "situation", "instinct", "exercise_id")
AGGRESSION = re.compile(
    r"aggress|agress|aggres|böse|beißt|beisst|bissig|knurr|schnapp|angriff|bite|biting|growl|snap|attack"
)
# Which question each yes/no state asked, for re-asks and clarifying questions.
ASKED = {"WAIT_FOR_CONFIRMATION": "confirm", "ASK_FOR_EXERCISE": "exercise", "END_OR_RESTART": "another"}


@dataclass(frozen=True)
class Part:
    """One bot message: fixed `text`, or `prefix` + a `composition` the responder renders + `suffix`.

    `steps` are an exercise's steps; the suffix then ends with them, one numbered line each.
    """

    sender: int
    kind: int
    text: str = ""
    composition: Composition | None = None
    prefix: str = ""
    suffix: str = ""
    steps: tuple[str, ...] = ()


@dataclass
class Plan:
    """The result of one turn: the next state, the messages, new context slots, finished feedback."""

    state: State
    parts: list[Part] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] | None = None

    @property
    def language(self) -> str:
        return str(self.context.get("language") or "de")

    def line(self, key: str, **params: object) -> str:
        """A phrasing of `key` not said before in this conversation."""
        return texts.pick(self.language, key, self.context.setdefault("said", {}), **params)

    def say(self, key: str, *, sender: int = DOG, kind: int = QUESTION, **params: object) -> None:
        self.parts.append(Part(sender, kind, self.line(key, **params)))

    def say_once(self, key: str, *, kind: int = ANSWER) -> None:
        """A line worth saying once per conversation (an age note, the question for age and breed)."""
        if key not in self.context.get("said", {}):
            self.say(key, kind=kind)


@dataclass(frozen=True)
class Turn:
    """What an action sees: the owner's text, the conversation's slots, the knowledge."""

    text: str
    context: dict[str, Any]
    search: KnowledgeSearch
    base: KnowledgeBase

    def behavior(self) -> Behavior | None:
        return self.base.behaviors.get(self.context.get("behavior_id") or "")


Action = Callable[[Turn, Plan], Awaitable[bool]]  # False: input refused, stay and say how to go on
