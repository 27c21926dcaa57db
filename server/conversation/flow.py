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

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from wuffchat.conversation.v1 import conversation_service_pb2 as pb

from server.knowledge.search import KnowledgeSearch
from server.knowledge.triage import Category, is_insult
from server.knowledge.types import Behavior, KnowledgeBase

from . import compose, instincts, texts
from .profile import Profile, extract
from .responders.interface import Composition
from .words import Intent, intent, is_question, words


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


def _profile(turn: Turn, plan: Plan) -> Profile:
    """The dog's profile with what this turn adds; stored in the slots."""
    known = Profile.from_context(plan.context.get("profile"))
    profile = extract(turn.text, turn.base.breed_groups, known=known, language=plan.language)
    plan.context["profile"] = profile.as_context()
    return profile


def _composition(purpose: str, plan: Plan, text: str, profile: Profile) -> Composition:
    return Composition(purpose, plan.language, text, details=profile.facts(), category=Category.BEHAVIOUR.value)


async def restart(turn: Turn, plan: Plan) -> bool:
    plan.context.update(dict.fromkeys(SLOTS))
    plan.say("restarted", kind=ANSWER)
    plan.say("ask_symptom")
    return True


def _answer_other(turn: Turn, plan: Plan, category: Category | None) -> None:
    """A short, kind answer to what is no description of a behaviour (health, scope, a question...)."""
    if is_insult(turn.text):
        plan.say("insult", kind=ANSWER)
    elif category is Category.HEALTH:
        plan.say("vet", sender=COMPANION, kind=ANSWER)
    elif category is Category.DOG_RELATED:
        plan.say("scope", kind=ANSWER)
    elif category is Category.OFF_TOPIC and is_question(turn.text):
        plan.say("off_topic_question", kind=ANSWER)
    elif is_question(turn.text):
        plan.say("question", kind=ANSWER)


async def _diagnose(turn: Turn, plan: Plan, *, correction: bool = False) -> Category | None:
    """Sort and match the description; on a behaviour, the dog's view and "want to know more?".

    Returns the category (None when the text was too short to try).
    """
    if len(turn.text.strip()) < MIN_SYMPTOM_CHARS or is_insult(turn.text):
        return None
    result = await turn.search.search(turn.text, 1, language=plan.language)
    profile = _profile(turn, plan)
    if result.category is not Category.BEHAVIOUR:
        return result.category
    if not result.matches:
        return Category.VAGUE
    behavior = turn.base.behaviors[result.matches[0].id]
    title = behavior.text(plan.language).title
    plan.context.update(dict.fromkeys(SLOTS))
    plan.context.update({"behavior_id": behavior.id, "behavior_title": title, "symptom": turn.text})
    plan.state = State.WAIT_FOR_CONFIRMATION
    if correction:
        plan.say("correction", kind=ANSWER)
    plan.say("understood", kind=ANSWER, title=title)
    view = compose.dog_view(behavior, plan.language, profile)
    plan.parts.append(Part(DOG, ANSWER, composition=_composition("symptom_view", plan, view, profile)))
    plan.say("ask_more")
    return Category.BEHAVIOUR


async def symptom(turn: Turn, plan: Plan) -> bool:
    """A description: matched, or answered by category with a question that helps the owner go on."""
    category = await _diagnose(turn, plan)
    if category is Category.BEHAVIOUR:
        return True
    _answer_other(turn, plan, category)
    if category is Category.HEALTH:
        plan.say("vet_offer")
    elif category is Category.VAGUE:
        plan.say("vague_aggression" if AGGRESSION.search(turn.text.lower()) else "vague_general")
    elif category is None:
        plan.say("need_more" if not is_insult(turn.text) else "ask_symptom", kind=ERROR)
    elif category is Category.OFF_TOPIC and not is_question(turn.text):
        plan.say("off_topic", kind=ERROR)
    else:
        plan.say("ask_symptom")
    return False


async def symptom_or_done(turn: Turn, plan: Plan) -> bool:
    """A short no while the dog waits for a description: done (feedback) once something was discussed."""
    if len(words(turn.text)) > SHORT_REPLY_WORDS:
        return await symptom(turn, plan)
    if plan.context.get("discussed"):
        plan.state = State.FEEDBACK_Q1
        plan.say("goodbye", kind=ANSWER)
        plan.say("feedback_q1", sender=COMPANION)
        return True
    plan.say("no_symptom_yet", kind=ANSWER)
    return False


async def ask_context(turn: Turn, plan: Plan) -> bool:
    plan.say("ask_context")
    profile = Profile.from_context(plan.context.get("profile"))
    missing_age, missing_breed = profile.age is None, profile.breed_group is None and not profile.mix
    if missing_age or missing_breed:
        which = "both" if missing_age and missing_breed else "age" if missing_age else "breed"
        plan.say_once(f"ask_context_{which}", kind=QUESTION)
    return True


async def misunderstood(turn: Turn, plan: Plan) -> bool:
    """No to "is that it?": a correction when the owner says more, else ask again."""
    if len(words(turn.text)) > SHORT_REPLY_WORDS and await _diagnose(turn, plan, correction=True) is Category.BEHAVIOUR:
        return True
    plan.context.update(dict.fromkeys(SLOTS))
    plan.say("misunderstood")
    return True


async def ask_symptom_again(turn: Turn, plan: Plan) -> bool:
    plan.say("ask_symptom_again")
    return True


async def clarify(turn: Turn, plan: Plan) -> bool:
    """Unsure ("jein", "keine Ahnung"): a clarifying question for the question asked."""
    plan.say(f"clarify_{ASKED[_asked_state(turn)]}")
    return False


async def other_answer(turn: Turn, plan: Plan) -> bool:
    """Neither yes nor no: a new description is a correction; anything else gets a kind answer and a re-ask."""
    if await _diagnose(turn, plan, correction=True) is Category.BEHAVIOUR:
        return True
    category = None if len(turn.text.strip()) < MIN_SYMPTOM_CHARS else await _category(turn)
    _answer_other(turn, plan, category)
    plan.say(f"reask_{ASKED[_asked_state(turn)]}", kind=ERROR)
    return False


async def _category(turn: Turn) -> Category:
    return (await turn.search.search(turn.text, 1)).category


def _asked_state(turn: Turn) -> str:
    return str(turn.context.get("_state") or "WAIT_FOR_CONFIRMATION")


async def explain_instinct(turn: Turn, plan: Plan, *, skipped: bool = False) -> bool:
    behavior = turn.behavior()
    if behavior is None:  # deleted by an admin meanwhile: ask for the behaviour again
        plan.state = State.WAIT_FOR_SYMPTOM
        plan.say("ask_symptom")
        return True
    if not skipped and len(turn.text.strip()) < MIN_CONTEXT_CHARS:
        plan.say("need_context", kind=ERROR)
        return False
    profile = _profile(turn, plan) if not skipped else Profile.from_context(plan.context.get("profile"))
    if not skipped and (await turn.search.search(turn.text, 1)).category is Category.HEALTH:
        plan.say("vet", sender=COMPANION, kind=ANSWER)
    situation = "" if skipped else turn.text
    group = compose.breed_group(turn.base, profile)
    ranking = instincts.rank(behavior, f"{turn.context.get('symptom', '')} {situation}", group, mix=profile.mix)
    leading = ranking.order[0]
    plan.context.update({"situation": situation, "instinct": leading})
    if skipped:
        plan.say("context_skipped", kind=ANSWER)
    plan.say("instinct_intro", kind=ANSWER, instinct_name=texts.text(plan.language, f"instinct_name_{leading}"))
    text = compose.instinct_text(behavior, leading, plan.language, profile)
    plan.parts.append(Part(DOG, ANSWER, composition=_composition("instinct", plan, text, profile)))
    note = compose.breed_note(turn.base, profile, leading, plan.language)
    if note is not None:
        plan.parts.append(Part(DOG, ANSWER, note))
    if profile.age in ("puppy", "adolescent", "senior"):
        plan.say_once(f"age_note_{profile.age}")
    plan.say("ask_exercise")
    return True


async def explain_with_context(turn: Turn, plan: Plan) -> bool:
    return await explain_instinct(turn, plan)


async def explain_without_context(turn: Turn, plan: Plan) -> bool:
    """ "nee" or "keine Ahnung" instead of a context: explain from the description alone."""
    if len(words(turn.text)) > SHORT_REPLY_WORDS:
        return await explain_instinct(turn, plan)
    return await explain_instinct(turn, plan, skipped=True)


async def show_exercise(turn: Turn, plan: Plan) -> bool:
    behavior = turn.behavior()
    if behavior is None:
        plan.state = State.WAIT_FOR_SYMPTOM
        plan.say("ask_symptom")
        return True
    profile = Profile.from_context(plan.context.get("profile"))
    exercise = instincts.best_exercise(behavior, turn.base, profile.age)
    parts = compose.exercise(exercise, plan.language)
    plan.context["exercise_id"] = exercise.id
    plan.context["discussed"] = [*plan.context.get("discussed", []), behavior.id]
    plan.parts.append(
        Part(
            COMPANION,
            INSTRUCTION,
            composition=_composition("exercise", plan, parts.background, profile),
            prefix=plan.line("exercise_intro", title=parts.title),
            suffix=f"{plan.line('steps_heading')}\n{compose.numbered(parts.steps)}",
            steps=parts.steps,
        )
    )
    first_aid = compose.first_aid(behavior, plan.language, profile)
    plan.say("first_aid", sender=COMPANION, kind=INSTRUCTION, first_aid=first_aid)
    plan.say("ask_another")
    return True


async def to_feedback(turn: Turn, plan: Plan) -> bool:
    behavior = turn.behavior()
    if behavior is not None:
        plan.context["discussed"] = [*plan.context.get("discussed", []), behavior.id]
    plan.say("feedback_q1", sender=COMPANION)
    return True


def _feedback(question: str, slot: str) -> Action:
    async def action(turn: Turn, plan: Plan) -> bool:
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
    plan.context["discussed"] = []
    plan.say("thanks", sender=COMPANION, kind=GREETING)
    return True


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
    (S.FEEDBACK_Q1, ANY): (_feedback("feedback_q2", "helped"), S.FEEDBACK_Q2),
    (S.FEEDBACK_Q2, ANY): (_feedback("feedback_q3", "perspective"), S.FEEDBACK_Q3),
    (S.FEEDBACK_Q3, ANY): (_feedback("feedback_q4", "exercise_fit"), S.FEEDBACK_Q4),
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
