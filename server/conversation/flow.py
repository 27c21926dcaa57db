"""The dog's 11-state conversation flow (SPEC.md section 6): the whole transition table in one place.

`TABLE[(state, intent)]` names the action and the next state; an action may refuse the input
(too short, not about a dog, no match, no valid score), then the conversation stays where it was
and the bot re-asks. Restart words lead from every state to WAIT_FOR_SYMPTOM. `advance` is pure
apart from the knowledge search: it returns a `Plan` the service renders, streams and stores.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from wuffchat.conversation.v1 import conversation_service_pb2 as pb

from server.knowledge.search import KnowledgeSearch
from server.knowledge.types import KnowledgeBase

from . import instincts, texts
from .responders.interface import Composition
from .words import Intent, intent


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
ANY = None  # matches every intent that has no entry of its own


@dataclass(frozen=True)
class Part:
    """One bot message: a fixed `text`, or a `composition` the responder renders."""

    sender: int
    kind: int
    text: str = ""
    composition: Composition | None = None


@dataclass
class Plan:
    """The result of one turn: the next state, the messages, new context slots, finished feedback."""

    state: State
    parts: list[Part] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] | None = None

    def say(self, key: str, *, sender: int = DOG, kind: int = QUESTION, **params: object) -> None:
        self.parts.append(Part(sender, kind, texts.text(self.context["language"], key, **params)))


@dataclass(frozen=True)
class Turn:
    """What an action sees: the owner's text, the conversation's slots, the knowledge."""

    text: str
    context: dict[str, Any]
    search: KnowledgeSearch
    base: KnowledgeBase


Action = Callable[[Turn, Plan], Awaitable[bool]]  # False: input refused, stay and re-ask


async def restart(turn: Turn, plan: Plan) -> bool:
    plan.context.update({k: None for k in ("behavior_id", "symptom", "situation", "instinct", "exercise_id")})
    plan.say("restarted", kind=ANSWER)
    plan.say("ask_symptom")
    return True


async def symptom(turn: Turn, plan: Plan) -> bool:
    language = plan.context["language"]
    if len(turn.text.strip()) < MIN_SYMPTOM_CHARS:
        plan.say("need_more", kind=ERROR)
        return False
    result = await turn.search.search(turn.text, 1)
    if not result.matches:
        plan.say("no_match" if result.about_dog else "need_more", kind=ERROR)
        return False
    behavior = turn.base.behaviors[result.matches[0].id]
    plan.context.update({"behavior_id": behavior.id, "behavior_title": behavior.title, "symptom": turn.text})
    plan.parts.append(Part(DOG, ANSWER, composition=Composition("symptom_view", language, behavior.dog_view)))
    plan.say("ask_more")
    return True


async def ask_context(turn: Turn, plan: Plan) -> bool:
    plan.say("ask_context")
    return True


async def ask_symptom_again(turn: Turn, plan: Plan) -> bool:
    plan.say("ask_symptom_again")
    return True


async def explain_instinct(turn: Turn, plan: Plan) -> bool:
    behavior = turn.base.behaviors.get(turn.context.get("behavior_id") or "")
    if behavior is None:  # deleted by an admin meanwhile: ask for the behaviour again
        plan.state = State.WAIT_FOR_SYMPTOM
        plan.say("ask_symptom")
        return True
    if len(turn.text.strip()) < 3:
        plan.say("need_context", kind=ERROR)
        return False
    language = plan.context["language"]
    ranking = instincts.rank(behavior, f"{turn.context.get('symptom', '')} {turn.text}", turn.base)
    leading = ranking.order[0]
    plan.context.update({"situation": turn.text, "instinct": leading})
    plan.say("instinct_intro", kind=ANSWER, instinct_name=texts.text(language, f"instinct_name_{leading}"))
    plan.parts.append(Part(DOG, ANSWER, composition=Composition("instinct", language, behavior.instincts[leading])))
    if ranking.breed is not None:
        plan.context["breed_group"] = ranking.breed.id
        plan.say("breed_note", kind=ANSWER, breed_group=ranking.breed.name)
    plan.say("ask_exercise")
    return True


async def show_exercise(turn: Turn, plan: Plan) -> bool:
    behavior = turn.base.behaviors.get(turn.context.get("behavior_id") or "")
    if behavior is None:
        plan.state = State.WAIT_FOR_SYMPTOM
        plan.say("ask_symptom")
        return True
    language = plan.context["language"]
    exercise = instincts.best_exercise(behavior, turn.context.get("instinct") or "rudel", turn.base)
    plan.context["exercise_id"] = exercise.id
    body = " ".join(
        [
            texts.text(language, "exercise", title=exercise.title, background=exercise.background),
            texts.text(
                language, "exercise_steps", steps=" ".join(f"{i}. {s}" for i, s in enumerate(exercise.steps, 1))
            ),
        ]
    )
    plan.parts.append(Part(DOG, INSTRUCTION, composition=Composition("exercise", language, body)))
    plan.say("first_aid", kind=INSTRUCTION, first_aid=behavior.first_aid)
    plan.say("ask_another")
    return True


def _feedback(question: str, slot: str | None) -> Callable[[Turn, Plan], Awaitable[bool]]:
    async def action(turn: Turn, plan: Plan) -> bool:
        if slot is not None:
            plan.context.setdefault("feedback", {})[slot] = turn.text.strip()[:2000]
        plan.say(question, sender=COMPANION)
        return True

    return action


async def score(turn: Turn, plan: Plan) -> bool:
    match = re.fullmatch(r"\s*(\d{1,2})\s*(/\s*10)?\s*[.!]?\s*", turn.text)
    if match is None or not 0 <= int(match.group(1)) <= 10:
        plan.say("feedback_q4_invalid", sender=COMPANION, kind=ERROR)
        return False
    plan.context.setdefault("feedback", {})["score"] = int(match.group(1))
    plan.say("feedback_q5", sender=COMPANION)
    return True


async def finish(turn: Turn, plan: Plan) -> bool:
    answers = dict(plan.context.get("feedback") or {})
    contact = turn.text.strip()
    answers["contact"] = None if intent(contact) is Intent.NO else contact[:254]
    plan.feedback = answers
    plan.context["feedback"] = {}
    plan.say("thanks", sender=COMPANION, kind=GREETING)
    return True


async def reask_yes_no(turn: Turn, plan: Plan) -> bool:
    plan.say("ask_yes_no", kind=ERROR)
    return False


S = State
# (state, intent) -> (action, next state). ANY is the fallback for a state; RESTART is handled for all states.
TABLE: dict[tuple[State, Intent | None], tuple[Action, State]] = {
    (S.GREETING, ANY): (symptom, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_SYMPTOM, ANY): (symptom, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_CONFIRMATION, Intent.YES): (ask_context, S.WAIT_FOR_CONTEXT),
    (S.WAIT_FOR_CONFIRMATION, Intent.NO): (ask_symptom_again, S.WAIT_FOR_SYMPTOM),
    (S.WAIT_FOR_CONFIRMATION, ANY): (reask_yes_no, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_CONTEXT, ANY): (explain_instinct, S.ASK_FOR_EXERCISE),
    (S.ASK_FOR_EXERCISE, Intent.YES): (show_exercise, S.END_OR_RESTART),
    (S.ASK_FOR_EXERCISE, Intent.NO): (_feedback("feedback_q1", None), S.FEEDBACK_Q1),
    (S.ASK_FOR_EXERCISE, ANY): (reask_yes_no, S.ASK_FOR_EXERCISE),
    (S.END_OR_RESTART, Intent.YES): (ask_symptom_again, S.WAIT_FOR_SYMPTOM),
    (S.END_OR_RESTART, Intent.NO): (_feedback("feedback_q1", None), S.FEEDBACK_Q1),
    (S.END_OR_RESTART, ANY): (reask_yes_no, S.END_OR_RESTART),
    (S.FEEDBACK_Q1, ANY): (_feedback("feedback_q2", "helped"), S.FEEDBACK_Q2),
    (S.FEEDBACK_Q2, ANY): (_feedback("feedback_q3", "perspective"), S.FEEDBACK_Q3),
    (S.FEEDBACK_Q3, ANY): (_feedback("feedback_q4", "exercise_fit"), S.FEEDBACK_Q4),
    (S.FEEDBACK_Q4, ANY): (score, S.FEEDBACK_Q5),
    (S.FEEDBACK_Q5, ANY): (finish, S.GREETING),
}


def opening(language: str) -> Plan:
    """StartConversation: the greeting and the first question; state WAIT_FOR_SYMPTOM."""
    plan = Plan(State.WAIT_FOR_SYMPTOM, context={"language": language})
    plan.say("greeting", kind=GREETING)
    plan.say("ask_symptom")
    return plan


async def advance(
    state: State, context: dict[str, Any], text: str, search: KnowledgeSearch, base: KnowledgeBase
) -> Plan:
    """One turn: look up (state, intent) in TABLE, run the action, and decide the next state."""
    said = intent(text)
    action: Action
    if said is Intent.RESTART:
        action, target = restart, State.WAIT_FOR_SYMPTOM
    else:
        action, target = TABLE.get((state, said)) or TABLE[(state, ANY)]
    plan = Plan(target, context=dict(context))
    accepted = await action(Turn(text, context, search, base), plan)
    if not accepted:
        plan.state = state if state is not State.GREETING else State.WAIT_FOR_SYMPTOM
    return plan
