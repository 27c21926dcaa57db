"""Knowledge texts fitted to the owner's dog: variants by profile, the breed note, exercise steps, language."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.conversation import actions, compose
from server.conversation import plan as plans
from server.conversation.profile import Profile
from server.knowledge import loader
from server.knowledge.retrieval.interface import Match
from server.knowledge.search import KnowledgeSearch
from server.knowledge.topic import Topic
from server.knowledge.types import (
    INSTINCTS,
    Behavior,
    BehaviorText,
    BreedGroup,
    KnowledgeBase,
    Variant,
)

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"
BASE = loader.load(ROOT)


def _variant(when: dict[str, str], part: str, tag: str) -> Variant:
    return Variant(when=when, part=part, texts={"de": f"DE-{tag}.", "en": f"EN-{tag}."})


BEHAVIOR = Behavior(
    id="test-verhalten",
    title="Testverhalten",
    phrasings=("eins", "zwei", "drei", "vier", "fünf"),
    dog_view="Ich bin der Hund.",
    instincts={i: f"Ich {i}." for i in INSTINCTS},
    instinct_weights={"jagd": 40, "rudel": 30, "territorial": 20, "sexual": 10},
    first_aid="Mach erst einmal Pause.",
    exercises=("deckentraining",),
    en=BehaviorText(
        title="Test behaviour",
        phrasings=("one", "two", "three", "four", "five"),
        dog_view="I am the dog.",
        instincts={i: f"I {i}." for i in INSTINCTS},
        first_aid="Take a break first.",
    ),
    variants=(
        _variant({"age": "puppy"}, "dog_view", "puppy"),
        _variant({"age": "puppy", "sex": "female"}, "dog_view", "puppy-female"),
        _variant({"place": "garden"}, "territorial", "garden"),
        _variant({"sex": "male"}, "first_aid", "male"),
    ),
)


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (Profile(), "Ich bin der Hund."),
        (Profile(age="puppy"), "Ich bin der Hund. DE-puppy."),
        (Profile(age="puppy", sex="female"), "Ich bin der Hund. DE-puppy. DE-puppy-female."),
        (Profile(sex="female"), "Ich bin der Hund."),  # the age is unknown: no puppy sentence
        (Profile(age="senior", sex="female"), "Ich bin der Hund."),
        (Profile(age="puppy", sex="male", place="garden"), "Ich bin der Hund. DE-puppy."),
    ],
)
def test_variant_added_only_when_every_condition_holds(profile: Profile, expected: str) -> None:
    assert compose.dog_view(BEHAVIOR, "de", profile) == expected


def test_variant_extends_only_its_own_part() -> None:
    garden = Profile(place="garden")
    assert compose.instinct_text(BEHAVIOR, "territorial", "de", garden) == "Ich territorial. DE-garden."
    for instinct in ("jagd", "rudel", "sexual"):
        assert compose.instinct_text(BEHAVIOR, instinct, "de", garden) == f"Ich {instinct}."
    assert compose.dog_view(BEHAVIOR, "de", garden) == "Ich bin der Hund."
    assert compose.first_aid(BEHAVIOR, "de", garden) == "Mach erst einmal Pause."
    assert compose.first_aid(BEHAVIOR, "de", Profile(sex="male")) == "Mach erst einmal Pause. DE-male."


def test_variants_in_english() -> None:
    puppy = Profile(age="puppy", sex="female", place="garden")
    assert compose.dog_view(BEHAVIOR, "en", puppy) == "I am the dog. EN-puppy. EN-puppy-female."
    assert compose.instinct_text(BEHAVIOR, "territorial", "en", puppy) == "I territorial. EN-garden."
    assert compose.first_aid(BEHAVIOR, "en", Profile(sex="male")) == "Take a break first. EN-male."


def test_real_variants_only_for_matching_dogs() -> None:
    """Across the base: an empty profile gets the bare texts; a variant's own profile gets its sentence."""
    checked = 0
    for behavior in BASE.behaviors.values():
        for language in ("de", "en"):
            texts = behavior.text(language)
            assert compose.dog_view(behavior, language, Profile()) == texts.dog_view
            assert compose.first_aid(behavior, language, Profile()) == texts.first_aid
            for instinct in INSTINCTS:
                assert compose.instinct_text(behavior, instinct, language, Profile()) == texts.instincts[instinct]
        for variant in behavior.variants:
            matching = Profile(**variant.when)  # type: ignore[arg-type]
            part = variant.part
            if part == "dog_view":
                said = compose.dog_view(behavior, "en", matching)
            elif part == "first_aid":
                said = compose.first_aid(behavior, "en", matching)
            else:
                said = compose.instinct_text(behavior, part, "en", matching)
            assert variant.texts["en"] in said, (behavior.id, variant.when)
            checked += 1
    assert checked > 0


def _group(instincts: dict[str, int]) -> BreedGroup:
    return BreedGroup(
        id="testgruppe",
        name="Testgruppe",
        instincts=instincts,
        breeds=("A", "B", "C", "D"),
        aliases=("testhund",),
        names={"de": "Testgruppe", "en": "Test group"},
        notes={"de": "Wir Testhunde bewachen gern.", "en": "We test dogs like to guard."},
    )


GUARDS = _group({"jagd": 10, "rudel": 20, "territorial": 55, "sexual": 15})
GUARD_BASE = KnowledgeBase(behaviors={}, instincts={}, exercises={}, breed_groups=(GUARDS,))


def test_breed_note_only_for_the_groups_leading_instinct() -> None:
    owner = Profile(breed_group="testgruppe")
    assert compose.breed_note(GUARD_BASE, owner, "territorial", "de") == "Wir Testhunde bewachen gern."
    assert compose.breed_note(GUARD_BASE, owner, "territorial", "en") == "We test dogs like to guard."
    for other in ("jagd", "rudel", "sexual"):
        assert compose.breed_note(GUARD_BASE, owner, other, "de") is None


def test_breed_note_never_for_a_mix_or_unknown_breed() -> None:
    assert compose.breed_note(GUARD_BASE, Profile(breed_group="testgruppe", mix=True), "territorial", "de") is None
    assert compose.breed_note(GUARD_BASE, Profile(), "territorial", "de") is None
    assert compose.breed_note(GUARD_BASE, Profile(breed_group="gibt-es-nicht"), "territorial", "de") is None


def test_breed_note_on_real_groups() -> None:
    for group in BASE.breed_groups:
        owner = Profile(breed_group=group.id)
        assert group.instincts[group.leading] == max(group.instincts.values()), group.id
        for instinct in INSTINCTS:
            note = compose.breed_note(BASE, owner, instinct, "en")
            assert (note == group.notes["en"]) if instinct == group.leading else note is None, (group.id, instinct)
        assert compose.breed_note(BASE, Profile(breed_group=group.id, mix=True), group.leading, "de") is None


def test_numbered_steps() -> None:
    assert compose.numbered(("Erst das.", "Dann das.", "Zum Schluss das.")) == (
        "1. Erst das.\n2. Dann das.\n3. Zum Schluss das."
    )
    assert compose.numbered(()) == ""


@pytest.mark.parametrize("language", ["de", "en"])
def test_exercise_parts_in_language(language: str) -> None:
    for exercise in BASE.exercises.values():
        parts = compose.exercise(exercise, language)
        texts = exercise.text(language)
        assert (parts.title, parts.background, parts.steps) == (texts.title, texts.background, texts.steps)
    first = next(iter(BASE.exercises.values()))
    german, english = compose.exercise(first, "de"), compose.exercise(first, "en")
    assert german.title != english.title
    assert len(german.steps) == len(english.steps)


class _NoSearch:
    """A retriever the exercise step must not need."""

    async def index(self, behaviors: object) -> None:
        return None

    async def search(self, query: str, limit: int) -> list[Match]:
        raise AssertionError("showing an exercise searches nothing")


@pytest.mark.parametrize("language", ["de", "en"])
async def test_exercise_message_ends_with_numbered_steps(language: str) -> None:
    behavior = BASE.behaviors["leinenziehen"]
    search = KnowledgeSearch(_NoSearch(), Topic([], threshold=0.5, weak_threshold=0.5))
    context = {"language": language, "behavior_id": behavior.id}
    plan = plans.Plan(plans.State.END_OR_RESTART, context=dict(context))
    assert await actions.show_exercise(plans.Turn("ja", context, search, BASE), plan)
    exercise = BASE.exercises[behavior.exercises[0]]
    steps = exercise.text(language).steps
    message = plan.parts[0]
    assert message.sender == plans.COMPANION and message.kind == plans.INSTRUCTION
    assert message.steps == steps
    assert message.suffix.endswith("\n" + compose.numbered(steps))
    assert message.suffix.splitlines()[-len(steps) :] == [f"{i}. {s}" for i, s in enumerate(steps, 1)]
    assert exercise.text(language).title in message.prefix
    assert message.composition is not None and message.composition.offline_text == exercise.text(language).background
