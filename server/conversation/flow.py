"""The dog's 11-state conversation flow (SPEC.md section 6): the whole transition table in one place.

`TABLE[(state, intent)]` names the action and the next state; an action may refuse the input (too
short, not a behaviour, no valid score), then the conversation stays where it was and the bot says
how to go on. A whole-message restart command leads from every state to WAIT_FOR_SYMPTOM. Before a
description is matched it is sorted (knowledge/triage.py): health signs get a vet answer, dog questions
that are no behaviour a scope answer, vague ones a targeted question. A new description while the dog
waits for yes or no is a correction: diagnosed again. `advance` is pure apart from the knowledge search:
it returns a `Plan` the service renders, streams and stores.
"""

from __future__ import annotations

from typing import Any

from server.knowledge.search import KnowledgeSearch
from server.knowledge.types import KnowledgeBase

from .actions import (
    ask_context,
    ask_symptom_again,
    clarify,
    explain_with_context,
    explain_without_context,
    feedback_question,
    finish,
    misunderstood,
    other_answer,
    restart,
    score,
    show_exercise,
    symptom,
    symptom_or_done,
    to_feedback,
)
from .plan import ANY, GREETING, Action, Part, Plan, State, Turn
from .words import Intent, intent

__all__ = ["TABLE", "Part", "Plan", "State", "advance", "opening"]


S = State
# (state, intent) -> (action, next state). ANY is the fallback for a state; RESTART is handled for all states.
# An action may move elsewhere (a correction goes to WAIT_FOR_CONFIRMATION) or refuse (stay).
TABLE: dict[tuple[State, Intent | None], tuple[Action, State]] = {
    (S.GREETING, Intent.NO): (symptom_or_done, S.WAIT_FOR_SYMPTOM),
    (S.GREETING, ANY): (symptom, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_SYMPTOM, Intent.NO): (symptom_or_done, S.WAIT_FOR_SYMPTOM),
    (S.WAIT_FOR_SYMPTOM, ANY): (symptom, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_CONFIRMATION, Intent.YES): (ask_context, S.WAIT_FOR_CONTEXT),
    (S.WAIT_FOR_CONFIRMATION, Intent.NO): (misunderstood, S.WAIT_FOR_SYMPTOM),
    (S.WAIT_FOR_CONFIRMATION, Intent.UNSURE): (clarify, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_CONFIRMATION, ANY): (other_answer, S.WAIT_FOR_CONFIRMATION),
    (S.WAIT_FOR_CONTEXT, Intent.NO): (explain_without_context, S.ASK_FOR_EXERCISE),
    (S.WAIT_FOR_CONTEXT, Intent.UNSURE): (explain_without_context, S.ASK_FOR_EXERCISE),
    (S.WAIT_FOR_CONTEXT, ANY): (explain_with_context, S.ASK_FOR_EXERCISE),
    (S.ASK_FOR_EXERCISE, Intent.YES): (show_exercise, S.END_OR_RESTART),
    (S.ASK_FOR_EXERCISE, Intent.NO): (to_feedback, S.FEEDBACK_Q1),
    (S.ASK_FOR_EXERCISE, Intent.UNSURE): (clarify, S.ASK_FOR_EXERCISE),
    (S.ASK_FOR_EXERCISE, ANY): (other_answer, S.ASK_FOR_EXERCISE),
    (S.END_OR_RESTART, Intent.YES): (ask_symptom_again, S.WAIT_FOR_SYMPTOM),
    (S.END_OR_RESTART, Intent.NO): (to_feedback, S.FEEDBACK_Q1),
    (S.END_OR_RESTART, Intent.UNSURE): (clarify, S.END_OR_RESTART),
    (S.END_OR_RESTART, ANY): (other_answer, S.END_OR_RESTART),
    (S.FEEDBACK_Q1, ANY): (feedback_question("feedback_q2", "helped"), S.FEEDBACK_Q2),
    (S.FEEDBACK_Q2, ANY): (feedback_question("feedback_q3", "perspective"), S.FEEDBACK_Q3),
    (S.FEEDBACK_Q3, ANY): (feedback_question("feedback_q4", "exercise_fit"), S.FEEDBACK_Q4),
    (S.FEEDBACK_Q4, ANY): (score, S.FEEDBACK_Q5),
    (S.FEEDBACK_Q5, ANY): (finish, S.GREETING),
}
FREE_TEXT = frozenset({S.FEEDBACK_Q1, S.FEEDBACK_Q2, S.FEEDBACK_Q3, S.FEEDBACK_Q4, S.FEEDBACK_Q5})


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
        key = ANY if state in FREE_TEXT else said
        action, target = TABLE.get((state, key)) or TABLE[(state, ANY)]
    plan = Plan(target, context=dict(context))
    accepted = await action(Turn(text, {**context, "_state": state.name}, search, base), plan)
    if not accepted:
        plan.state = state if state is not State.GREETING else State.WAIT_FOR_SYMPTOM
    return plan
