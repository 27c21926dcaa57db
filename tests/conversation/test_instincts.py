"""Instinct ranking and exercise choice (conversation/instincts.py) on small hand-written knowledge."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from server.conversation.instincts import best_exercise, rank
from server.knowledge.types import INSTINCTS, Behavior, BreedGroup, Exercise, KnowledgeBase


def _behavior(weights: Mapping[str, int], exercises: tuple[str, ...] = ()) -> Behavior:
    return Behavior(
        id="test",
        title="Test",
        phrasings=("eins",),
        dog_view="Ich.",
        instincts={i: i for i in INSTINCTS},
        instinct_weights=weights,
        first_aid="Pause.",
        exercises=exercises,
    )


def _group(**instincts: int) -> BreedGroup:
    return BreedGroup(id="g", name="Gruppe", instincts=instincts, breeds=("Beispielhund",), aliases=("beispiel",))


def _exercise(exercise_id: str, ages: tuple[str, ...] = ()) -> Exercise:
    return Exercise(exercise_id, exercise_id, ("jagd",), "Warum.", ("Schritt.",), ages=ages)


EVEN = _behavior({"jagd": 25, "rudel": 25, "territorial": 25, "sexual": 25})
PACK = _behavior({"jagd": 30, "rudel": 50, "territorial": 10, "sexual": 10})
HUNTERS = _group(jagd=70, rudel=10, territorial=10, sexual=10)


def test_weights_decide_without_context() -> None:
    behavior = _behavior({"jagd": 10, "rudel": 40, "territorial": 30, "sexual": 20})
    ranking = rank(behavior, "")
    assert ranking.order == ("rudel", "territorial", "sexual", "jagd")
    assert ranking.scores == {"jagd": 10, "rudel": 40, "territorial": 30, "sexual": 20}


def test_equal_weights_keep_the_instincts_order() -> None:
    assert rank(EVEN, "").order == INSTINCTS


@pytest.mark.parametrize(
    ("instinct", "context"),
    [
        ("jagd", "sobald er im Feld ein REH sieht"),
        ("jagd", "when he sees a squirrel"),
        ("rudel", "wenn er allein bleiben muss"),
        ("rudel", "when we leave him alone"),
        ("territorial", "wenn es an der Tür klingelt"),
        ("territorial", "when the postman comes to the door"),
        ("sexual", "seit sie läufig ist"),
        ("sexual", "since she has been in season"),
    ],
)
def test_context_cues_lead(instinct: str, context: str) -> None:
    ranking = rank(EVEN, context)
    assert ranking.order[0] == instinct
    assert ranking.scores[instinct] > 25


def test_cues_outweigh_a_moderate_weight_lead() -> None:
    assert rank(PACK, "").order[0] == "rudel"
    assert rank(PACK, "im Wald, wenn er ein Reh oder einen Hasen sieht").order[0] == "jagd"
    assert rank(PACK, "in the woods when he spots a deer or a rabbit").order[0] == "jagd"


@pytest.mark.parametrize(
    "context",
    [
        "in dieser Phase",  # "hase" inside a word
        "an jeder Location",  # "cat" inside a word
        "unser Rüde bellt",  # the dog's own sex is no cue
        "our male dog barks",
    ],
)
def test_no_cue_inside_words_or_from_the_dogs_sex(context: str) -> None:
    ranking = rank(EVEN, context)
    assert ranking.scores == dict.fromkeys(INSTINCTS, 25.0)


def test_breed_group_breaks_a_tie() -> None:
    guards = _group(jagd=10, rudel=20, territorial=60, sexual=10)
    assert rank(EVEN, "", guards).order[0] == "territorial"
    assert rank(EVEN, "", guards, mix=True).order[0] == "territorial"


def test_breed_group_nudges_but_a_mix_less() -> None:
    assert rank(PACK, "").order[0] == "rudel"
    pure, mix = rank(PACK, "", HUNTERS), rank(PACK, "", HUNTERS, mix=True)
    assert pure.order[0] == "jagd"
    assert mix.order[0] == "rudel"
    assert rank(PACK, "").scores["jagd"] < mix.scores["jagd"] < pure.scores["jagd"]


def test_best_exercise_follows_the_behaviours_order() -> None:
    base = KnowledgeBase({}, {}, {e.id: e for e in (_exercise("a"), _exercise("b"), _exercise("c"))})
    assert best_exercise(_behavior(EVEN.instinct_weights, ("c", "a", "b")), base).id == "c"
    assert best_exercise(_behavior(EVEN.instinct_weights, ("gone", "b", "a")), base).id == "b"


PUPPY_FIRST = KnowledgeBase(
    {}, {}, {"beisshemmung": _exercise("beisshemmung", ("puppy", "adolescent")), "ruhe": _exercise("ruhe")}
)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("puppy", "beisshemmung"),
        ("adolescent", "beisshemmung"),
        ("adult", "ruhe"),
        ("senior", "ruhe"),
        (None, "beisshemmung"),
    ],
)
def test_best_exercise_fits_the_age(age: str | None, expected: str) -> None:
    behavior = _behavior(EVEN.instinct_weights, ("beisshemmung", "ruhe"))
    assert best_exercise(behavior, PUPPY_FIRST, age).id == expected


def test_puppy_gets_the_fitting_exercise_after_an_adult_only_one() -> None:
    base = KnowledgeBase(
        {}, {}, {"gross": _exercise("gross", ("adult", "senior")), "klein": _exercise("klein", ("puppy",))}
    )
    behavior = _behavior(EVEN.instinct_weights, ("gross", "klein"))
    assert best_exercise(behavior, base, "puppy").id == "klein"
    assert best_exercise(behavior, base, "adult").id == "gross"


def test_best_exercise_falls_back_to_the_first_when_none_fits() -> None:
    base = KnowledgeBase({}, {}, {"a": _exercise("a", ("puppy",)), "b": _exercise("b", ("adolescent",))})
    assert best_exercise(_behavior(EVEN.instinct_weights, ("a", "b")), base, "adult").id == "a"
    assert best_exercise(_behavior(EVEN.instinct_weights, ("b", "a")), base, "senior").id == "b"
