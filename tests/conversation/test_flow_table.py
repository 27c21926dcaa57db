"""The flow table (conversation/flow.py) against SPEC.md section 6, without a server.

`advance` runs over a two-behaviour knowledge base written here and a real `KnowledgeSearch` whose
retriever returns a fixed match, so each turn is pure and fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from server.conversation import plan as plans
from server.conversation.flow import FREE_TEXT, TABLE, advance, opening
from server.conversation.plan import ANY, SLOTS, State
from server.conversation.words import Intent, intent
from server.knowledge.retrieval.interface import Match
from server.knowledge.search import (
    CLEAR_WINNER_SLACK,
    DEFAULT_THRESHOLD,
    DEFAULT_VERB_THRESHOLD,
    DEFAULT_WEAK_THRESHOLD,
    KnowledgeSearch,
)
from server.knowledge.topic import Topic
from server.knowledge.types import INSTINCTS, Behavior, BehaviorText, Exercise, KnowledgeBase

S = State
FEEDBACK = (S.FEEDBACK_Q1, S.FEEDBACK_Q2, S.FEEDBACK_Q3, S.FEEDBACK_Q4, S.FEEDBACK_Q5)
YES_NO_STATES = (S.WAIT_FOR_CONFIRMATION, S.ASK_FOR_EXERCISE, S.END_OR_RESTART)
DESCRIPTION = "Mein Hund zieht beim Spaziergang ständig an der Leine"
LEASH = Behavior(
    id="leinenziehen",
    title="Leinenziehen",
    phrasings=("zieht an der Leine",),
    dog_view="Ich will schneller vorwärts.",
    instincts={i: f"Mein {i}." for i in INSTINCTS},
    instinct_weights={"jagd": 40, "rudel": 30, "territorial": 20, "sexual": 10},
    first_aid="Bleib stehen.",
    exercises=("stehenbleiben",),
    en=BehaviorText(
        title="Pulling on the leash",
        phrasings=("pulls on the leash",),
        dog_view="I want to go faster.",
        instincts={i: f"My {i}." for i in INSTINCTS},
        first_aid="Stand still.",
    ),
)
BASE = KnowledgeBase(
    behaviors={LEASH.id: LEASH},
    instincts={},
    exercises={"stehenbleiben": Exercise("stehenbleiben", "Stehenbleiben", ("jagd",), "Warum.", ("Eins.", "Zwei."))},
)
# Sentences that words.intent sorts as each intent (checked below, so the table tests mean what they say).
SAID = {Intent.YES: "ja", Intent.NO: "nein", Intent.UNSURE: "vielleicht", Intent.OTHER: "blau"}


class FixedRetriever:
    """Ranks every query the same: the leash behaviour with a fixed confidence."""

    def __init__(self, score: float) -> None:
        self.score = score

    async def index(self, behaviors: Sequence[Behavior]) -> None:
        return None

    async def search(self, query: str, limit: int) -> list[Match]:
        return [Match(LEASH.id, LEASH.title, self.score)]


def _search(score: float = 0.9) -> KnowledgeSearch:
    topic = Topic(
        [], threshold=DEFAULT_THRESHOLD, weak_threshold=DEFAULT_WEAK_THRESHOLD, verb_threshold=DEFAULT_VERB_THRESHOLD
    )
    return KnowledgeSearch(FixedRetriever(score), topic)


def _context(**extra: Any) -> dict[str, Any]:
    """The slots of a conversation that has matched the leash behaviour."""
    return {"language": "de", "behavior_id": LEASH.id, "behavior_title": LEASH.title, "symptom": DESCRIPTION, **extra}


async def _turn(state: State, text: str, *, score: float = 0.9, **extra: Any) -> plans.Plan:
    return await advance(state, _context(**extra), text, _search(score), BASE)


def _next(state: State, said: Intent) -> State:
    """The table's next state for an intent, with the fallback as `advance` uses it."""
    return (TABLE.get((state, said)) or TABLE[(state, ANY)])[1]


def test_intent_samples_are_what_they_claim() -> None:
    assert {said: intent(text) for said, text in SAID.items()} == {said: said for said in SAID}


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_every_state_has_a_fallback(state: State) -> None:
    assert (state, ANY) in TABLE


def test_every_entry_names_real_states_and_intents() -> None:
    for (state, said), (action, target) in TABLE.items():
        assert isinstance(state, State) and isinstance(target, State)
        assert said is ANY or isinstance(said, Intent)
        assert said is not Intent.RESTART, "restart is handled for every state, not per entry"
        assert callable(action)


def test_feedback_states_are_free_text_in_order_then_greeting() -> None:
    assert frozenset(FEEDBACK) == FREE_TEXT
    assert [state for state, said in TABLE if state in FEEDBACK] == list(FEEDBACK), "only a fallback each"
    assert [TABLE[(state, ANY)][1] for state in FEEDBACK] == [*FEEDBACK[1:], S.GREETING]


@pytest.mark.parametrize(
    ("state", "said", "expected"),
    [
        (S.WAIT_FOR_CONFIRMATION, Intent.YES, S.WAIT_FOR_CONTEXT),
        (S.WAIT_FOR_CONFIRMATION, Intent.NO, S.WAIT_FOR_SYMPTOM),
        (S.WAIT_FOR_CONFIRMATION, Intent.UNSURE, S.WAIT_FOR_CONFIRMATION),
        (S.WAIT_FOR_CONFIRMATION, Intent.OTHER, S.WAIT_FOR_CONFIRMATION),
        (S.WAIT_FOR_CONTEXT, Intent.YES, S.ASK_FOR_EXERCISE),
        (S.WAIT_FOR_CONTEXT, Intent.NO, S.ASK_FOR_EXERCISE),
        (S.WAIT_FOR_CONTEXT, Intent.UNSURE, S.ASK_FOR_EXERCISE),
        (S.WAIT_FOR_CONTEXT, Intent.OTHER, S.ASK_FOR_EXERCISE),
        (S.ASK_FOR_EXERCISE, Intent.YES, S.END_OR_RESTART),
        (S.ASK_FOR_EXERCISE, Intent.NO, S.FEEDBACK_Q1),
        (S.ASK_FOR_EXERCISE, Intent.UNSURE, S.ASK_FOR_EXERCISE),
        (S.ASK_FOR_EXERCISE, Intent.OTHER, S.ASK_FOR_EXERCISE),
        (S.END_OR_RESTART, Intent.YES, S.WAIT_FOR_SYMPTOM),
        (S.END_OR_RESTART, Intent.NO, S.FEEDBACK_Q1),
        (S.END_OR_RESTART, Intent.UNSURE, S.END_OR_RESTART),
        (S.END_OR_RESTART, Intent.OTHER, S.END_OR_RESTART),
        (S.WAIT_FOR_SYMPTOM, Intent.OTHER, S.WAIT_FOR_CONFIRMATION),
        (S.GREETING, Intent.OTHER, S.WAIT_FOR_CONFIRMATION),
    ],
    ids=lambda v: v.name,
)
def test_table_follows_the_spec(state: State, said: Intent, expected: State) -> None:
    assert _next(state, said) is expected


@pytest.mark.parametrize(
    ("state", "said", "expected"),
    [
        (S.WAIT_FOR_CONFIRMATION, Intent.YES, S.WAIT_FOR_CONTEXT),
        (S.WAIT_FOR_CONFIRMATION, Intent.NO, S.WAIT_FOR_SYMPTOM),
        (S.ASK_FOR_EXERCISE, Intent.YES, S.END_OR_RESTART),
        (S.ASK_FOR_EXERCISE, Intent.NO, S.FEEDBACK_Q1),
        (S.END_OR_RESTART, Intent.YES, S.WAIT_FOR_SYMPTOM),
        (S.END_OR_RESTART, Intent.NO, S.FEEDBACK_Q1),
    ],
    ids=lambda v: v.name,
)
async def test_advance_on_yes_and_no(state: State, said: Intent, expected: State) -> None:
    plan = await _turn(state, SAID[said])
    assert plan.state is expected
    assert plan.parts, "every turn answers"


@pytest.mark.parametrize("state", YES_NO_STATES, ids=lambda s: s.name)
@pytest.mark.parametrize("said", [Intent.UNSURE, Intent.OTHER], ids=lambda i: i.name)
async def test_unsure_or_other_stays_and_asks_again(state: State, said: Intent) -> None:
    plan = await _turn(state, SAID[said])
    assert plan.state is state
    kind = "clarify" if said is Intent.UNSURE else "reask"
    assert set(plan.context["said"]) == {f"{kind}_{plans.ASKED[state.name]}"}, "asks the question of this state again"


async def test_context_leads_to_the_exercise_question() -> None:
    plan = await _turn(S.WAIT_FOR_CONTEXT, "im Wald, wenn er ein Reh sieht")
    assert plan.state is S.ASK_FOR_EXERCISE
    assert plan.context["instinct"] == "jagd"


@pytest.mark.parametrize("answer", ["nein", "keine Ahnung"])
async def test_no_context_still_explains(answer: str) -> None:
    plan = await _turn(S.WAIT_FOR_CONTEXT, answer)
    assert plan.state is S.ASK_FOR_EXERCISE
    assert plan.context["situation"] == ""


async def test_description_matched_above_threshold() -> None:
    plan = await advance(S.WAIT_FOR_SYMPTOM, {"language": "de"}, DESCRIPTION, _search(0.9), BASE)
    assert plan.state is S.WAIT_FOR_CONFIRMATION
    assert plan.context["behavior_id"] == LEASH.id


@pytest.mark.parametrize("state", [S.WAIT_FOR_SYMPTOM, S.GREETING], ids=lambda s: s.name)
async def test_description_below_threshold_waits_for_another(state: State) -> None:
    below = DEFAULT_WEAK_THRESHOLD - CLEAR_WINNER_SLACK - 0.01  # even a lone candidate needs this much
    plan = await advance(state, {"language": "de"}, DESCRIPTION, _search(below), BASE)
    assert plan.state is S.WAIT_FOR_SYMPTOM
    assert plan.context.get("behavior_id") is None


async def test_correction_while_waiting_for_yes_or_no() -> None:
    plan = await _turn(S.WAIT_FOR_CONFIRMATION, DESCRIPTION, behavior_id="weg", behavior_title="Weg")
    assert plan.state is S.WAIT_FOR_CONFIRMATION
    assert plan.context["behavior_id"] == LEASH.id


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@pytest.mark.parametrize("command", ["neustart", "von vorne", "reset", "Restart"])
async def test_restart_from_every_state(state: State, command: str) -> None:
    plan = await _turn(state, command, situation="im Wald", instinct="jagd", exercise_id="stehenbleiben")
    assert plan.state is S.WAIT_FOR_SYMPTOM
    assert all(plan.context[slot] is None for slot in SLOTS)
    assert plan.context["language"] == "de"


async def test_feedback_walk_ends_in_greeting_with_the_answers() -> None:
    context: dict[str, Any] = {"language": "de"}
    answers = ["ja", "nein", "vielleicht", "9", "nein"]  # yes/no words are free text here
    seen = []
    for state, text in zip(FEEDBACK, answers, strict=True):
        plan = await advance(state, context, text, _search(), BASE)
        seen.append(plan.state)
        context = plan.context
    assert seen == [*FEEDBACK[1:], S.GREETING]
    assert plan.feedback == {
        "helped": "ja",
        "perspective": "nein",
        "exercise_fit": "vielleicht",
        "score": 9,
        "contact": None,
    }


@pytest.mark.parametrize("score", ["11", "gut", "-1"])
async def test_invalid_score_stays_in_q4(score: str) -> None:
    plan = await advance(S.FEEDBACK_Q4, {"language": "de"}, score, _search(), BASE)
    assert plan.state is S.FEEDBACK_Q4


@pytest.mark.parametrize("language", ["de", "en"])
def test_opening_greets_and_asks(language: str) -> None:
    plan = opening(language)
    assert plan.state is S.WAIT_FOR_SYMPTOM
    assert [part.kind for part in plan.parts] == [plans.GREETING, plans.QUESTION]
    assert plan.context["language"] == language
