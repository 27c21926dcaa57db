"""The actions of the flow's table (flow.py): each turns the owner's text into the bot's messages.

An action returns False when it cannot use the input: the conversation then stays in its state, and the
action has said how to go on. Before a description is matched it is sorted (knowledge/triage.py): health
signs get the companion's vet answer, dog questions that are no behaviour a scope answer, vague ones a
targeted question. A new description while the dog waits for yes or no is a correction.
"""

from __future__ import annotations

import re

from server.knowledge import triage
from server.knowledge.triage import Category, is_insult

from . import compose, instincts, texts
from .plan import (
    AGGRESSION,
    ANSWER,
    ASKED,
    COMPANION,
    DOG,
    ERROR,
    GREETING,
    INSTRUCTION,
    MIN_CONTEXT_CHARS,
    MIN_SYMPTOM_CHARS,
    QUESTION,
    SHORT_REPLY_WORDS,
    SLOTS,
    Action,
    Part,
    Plan,
    State,
    Turn,
)
from .profile import Profile, extract
from .responders.interface import Composition
from .words import Intent, intent, is_question, words


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
    category = await _diagnose(turn, plan, correction=True)
    if category is Category.BEHAVIOUR:
        return True
    _answer_other(turn, plan, category)
    plan.say(f"reask_{ASKED[_asked_state(turn)]}", kind=ERROR)
    return False


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
    read = turn.search.dialect.standard(turn.text)  # "er hatscht und speibt": the signs in standard words
    if not skipped and triage.signals(read).health:  # a health sign in the context: the vet first
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


def feedback_question(question: str, slot: str) -> Action:
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
