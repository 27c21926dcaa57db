"""The owner's details read from a description: age class, sex, breed group or mix, place (German and English).

A fact is set only when the text says it, so templates never assume what is unknown; facts from an
earlier turn stay unless a new turn says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from server.conversation.profile import Profile, age_class, extract, find_breed
from server.knowledge import loader
from server.knowledge.types import BreedGroup

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"
GROUPS: tuple[BreedGroup, ...] = loader.load(ROOT).breed_groups


def profile(text: str, known: Profile | None = None, language: str = "de") -> Profile:
    return extract(text, GROUPS, known=known, language=language)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unser 14 Jahre alter Rüde bellt jeden Abend", "senior"),
        ("my 12-week-old puppy chews everything", "puppy"),
        ("Sie ist 8 Monate alt und zieht an der Leine", "adolescent"),
        ("Bella ist 3 Jahre alt und bellt", "adult"),
        ("she is 4 years old and barks at the door", "adult"),
        ("Balu ist 1,5 Jahre alt", "adolescent"),
        ("ein zehn Jahre alter Hund", "senior"),
        ("our two-year-old dog jumps up at guests", "adult"),
        ("Unser Welpe beißt in die Hosenbeine", "puppy"),
        ("Unser Junghund hört gar nicht mehr", "adolescent"),
        ("my senior dog barks at night", "senior"),
        ("the pup keeps nipping", "puppy"),
    ],
)
def test_age_class_from_numbers_and_words(text: str, expected: str) -> None:
    assert age_class(text) == expected
    assert profile(text).age == expected


@pytest.mark.parametrize(
    "text",
    [
        "Seit 2 Jahren bellt er an der Tür",
        "Vor 3 Monaten haben wir ihn aus dem Tierschutz geholt",
        "he has been doing this for two weeks",
        "Er zieht an der Leine",
    ],
)
def test_duration_or_nothing_is_no_age(text: str) -> None:
    assert age_class(text) is None


def test_duration_is_skipped_but_a_later_age_counts() -> None:
    assert age_class("Seit 2 Jahren knurrt unser 11 Jahre alter Hund beim Bürsten") == "senior"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unsere Hündin bellt Besucher an", "female"),
        ("Unser Rüde markiert überall", "male"),
        ("she barks at the postman", "female"),
        ("he pulls on the lead", "male"),
        ("Our boy jumps up at everyone", "male"),
    ],
)
def test_sex(text: str, expected: str) -> None:
    language = "en" if text.split(maxsplit=1)[0].lower() in ("she", "he", "our", "my") else "de"
    assert profile(text, language=language).sex == expected


@pytest.mark.parametrize(
    "text",
    [
        # German "er" is said of "der Hund" whatever its sex.
        "Er bellt ständig, wenn es klingelt",
        "Mein Hund ist lieb, aber er zieht an der Leine",
        # German "her" (hither) is no English pronoun.
        "Er rennt jedem Radfahrer hinterher und kommt nicht her, wenn ich rufe",
        "Komm her, rufe ich, aber er hört nicht",
    ],
)
def test_german_pronouns_give_no_sex(text: str) -> None:
    assert profile(text).sex is None


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Our German Shepherd barks at the fence", "schaeferhunde"),
        ("We have two Labradors and they steal food", "retriever"),
        ("Unser Dackel buddelt im Beet", "dackel"),
        ("Mein Schäferhund bellt an der Tür", "schaeferhunde"),
        ("my golden retriever jumps up at visitors", "retriever"),
    ],
)
def test_breed_group_from_aliases(text: str, group: str) -> None:
    found = profile(text)
    assert found.breed_group == group
    assert not found.mix


def test_german_alone_is_no_breed() -> None:
    assert profile("I am German and my dog barks at night").breed_group is None


@pytest.mark.parametrize(
    "text",
    [
        "Unser Labrador-Mix klaut Essen",
        "Ein Mischling aus dem Tierschutz",
        "our labradoodle jumps up at everyone",
        "she is a mixed breed from a shelter",
        "Unser Dackelmix gräbt im Garten",
    ],
)
def test_mix_detected(text: str) -> None:
    assert profile(text).mix


def test_labrador_mix_keeps_the_named_group() -> None:
    found = profile("Unser Labrador-Mix zieht an der Leine")
    assert (found.breed_group, found.mix) == ("retriever", True)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Er bellt in der Wohnung, sobald jemand im Treppenhaus ist", "flat"),
        ("Sie kläfft am Gartenzaun jeden Passanten an", "garden"),
        ("he howls in our flat when we leave", "flat"),
        ("she digs holes all over the backyard", "garden"),
        ("he whines in the car on every trip", "car"),
        ("Im Auto hechelt und winselt sie", "car"),
    ],
)
def test_place(text: str, place: str) -> None:
    assert profile(text).place == place


def test_nothing_said_nothing_known() -> None:
    found = profile("Er bellt ständig")
    assert found == Profile()
    assert found.facts() == {}


def test_facts_merge_with_known() -> None:
    known = profile("Unsere 12 Jahre alte Hündin bellt")
    assert known.facts() == {"age": "senior", "sex": "female"}
    merged = profile("Meistens im Garten, wenn Leute am Zaun vorbeigehen", known=known)
    assert merged.facts() == {"age": "senior", "sex": "female", "place": "garden"}


def test_new_facts_win_over_known() -> None:
    known = Profile(age="senior", sex="male", breed_group="dackel", place="flat")
    merged = profile("Sorry, sie ist ein Welpe, ein Labrador, und es passiert im Auto", known=known)
    assert (merged.age, merged.breed_group, merged.place) == ("puppy", "retriever", "car")
    assert merged.sex == "male"  # "sie" says nothing about the sex


def test_profile_round_trips_through_context() -> None:
    found = profile("Unser 9 Monate alter Beagle-Mix bellt im Garten, er ist ein Rüde")
    assert Profile.from_context(found.as_context()) == found
    assert Profile.from_context(None) == Profile()


def test_longest_alias_wins_even_when_a_shorter_one_comes_first() -> None:
    """Two groups' aliases overlap in the text: the longer alias names the group, wherever it starts."""
    short = BreedGroup(id="short", name="S", instincts={}, breeds=(), aliases=("parson jack",))
    long = BreedGroup(id="long", name="L", instincts={}, breeds=(), aliases=("jack russell terrier",))
    same = BreedGroup(id="same", name="M", instincts={}, breeds=(), aliases=("jack russell terrier",))
    assert find_breed("my parson jack russell terrier", (short, long, same)) is long
    assert find_breed("my parson jack russell terrier", (short, same, long)) is same
    assert find_breed("a jack russell terrierish dog", (short, long)) is None
