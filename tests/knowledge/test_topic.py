"""The offline "about a dog?" check (knowledge/topic.py): evidence, the three thresholds, the verdict."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from server.knowledge.search import DEFAULT_THRESHOLD, DEFAULT_VERB_THRESHOLD, DEFAULT_WEAK_THRESHOLD
from server.knowledge.topic import Topic

BREEDS = Path(__file__).resolve().parents[2] / "data" / "knowledge" / "breeds.yaml"
# Distinct values, so each test sees which of the three thresholds a text got.
PLAIN, NAMED, VERB = 0.7, 0.5, 0.3
TOPIC = Topic(
    ["Labrador", "german shepherd", "Deutscher Schäferhund", "Mops", "gsd"],
    threshold=PLAIN,
    weak_threshold=NAMED,
    verb_threshold=VERB,
)


@cache
def _real_topic() -> Topic:
    """The breed words as the server builds them (factory.build): every group's aliases and breeds."""
    groups = yaml.safe_load(BREEDS.read_text(encoding="utf-8"))["breed_groups"]
    words = [w for g in groups for w in (*g["aliases"], *g["breeds"])]
    return Topic(
        words, threshold=DEFAULT_THRESHOLD, weak_threshold=DEFAULT_WEAK_THRESHOLD, verb_threshold=DEFAULT_VERB_THRESHOLD
    )


@pytest.mark.parametrize(
    "text",
    [
        "Mein Hund bellt",
        "unsere Hündin",
        "Der Welpe ist neu",
        "auf der Hundewiese",
        "unser Zweithund",
        "my dog",
        "the puppies",
        "Bello mag das nicht",
        "Luna is so wild",
    ],
)
def test_dog_words_and_names_are_strong(text: str) -> None:
    assert TOPIC.evidence(text).strong
    assert TOPIC.threshold(text) == NAMED


@pytest.mark.parametrize("text", ["Das kostet hundert Euro", "Ich lese ein Buch", "what does it cost"])
def test_no_dog_word(text: str) -> None:
    found = TOPIC.evidence(text)
    assert not found.strong and not found.weak
    assert TOPIC.threshold(text) == PLAIN


@pytest.mark.parametrize(
    "text",
    ["Unser Labrador frisst alles", "our German Shepherd", "Ein deutscher Schäferhund", "Der Mops schnarcht"],
)
def test_breed_aliases_are_strong(text: str) -> None:
    assert TOPIC.evidence(text).strong


@pytest.mark.parametrize(
    "text",
    [
        "she is German",  # part of an alias
        "Labradorit ist ein Stein",  # an alias inside a word
        "mopsfidel",
        "the GSD files",  # aliases of three letters are too ambiguous to count
    ],
)
def test_only_whole_aliases_count(text: str) -> None:
    assert not TOPIC.evidence(text).strong


def test_breeds_pattern_matches_whole_aliases() -> None:
    assert TOPIC.breeds is not None
    assert TOPIC.breeds.search("mein labrador") and not TOPIC.breeds.search("labradorit")
    assert Topic([], threshold=PLAIN, weak_threshold=NAMED).breeds is None


@pytest.mark.parametrize(
    "text", ["Unsere Labradors spielen", "two Labradors", "my german shepherd", "Unsere Schäferhündin", "zwei Beagles"]
)
def test_real_breed_words_include_plurals(text: str) -> None:
    assert _real_topic().evidence(text).strong


@pytest.mark.parametrize(
    "text",
    [
        "Mein Chef bellt mich an",
        "Meine Katze kratzt am Sofa",
        "Die Leine für die Wäsche ist gerissen",
        "My boss barks at everyone",
        "Unser Garten sieht aus wie ein Acker",
        "the cat keeps scratching",
    ],
)
def test_another_subject_is_not_about_a_dog(text: str) -> None:
    assert TOPIC.evidence(text).other_subject
    assert TOPIC.threshold(text) is None
    assert not TOPIC.verdict(text, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "Unser Garten ist umgegraben, er buddelt jeden Tag",  # a thing opens, a dog verb follows
        "Er jagt Katzen",  # another animal that is chased
        "he chases cats",
    ],
)
def test_things_and_chased_animals_hide_a_dog(text: str) -> None:
    found = TOPIC.evidence(text)
    assert found.weak and not found.other_subject
    assert TOPIC.threshold(text) == VERB


@pytest.mark.parametrize(
    "text",
    [
        "Unser Kater markiert im Flur",
        "Mei Katz kratzt die Tapete runter",  # Bavarian determiner and form
        "my bunnies keep digging under the fence",  # a plural
        "D'Goaß vom Nachbarn frisst die Blumen",
        "our tomcat sprays the curtains",
        "Unsere Rennmäuse beißen sich",
        "Die Samtpfote pinkelt in die Duschwanne",
    ],
)
def test_another_animal_opening_the_text_is_its_subject(text: str) -> None:
    assert TOPIC.evidence(text).animal_subject


@pytest.mark.parametrize(
    "text",
    [
        "Katze in Sicht und er ist weg",  # no determiner: what the dog meets
        "Die rote Katze von nebenan hüpft auf die Mauer und er rast los",  # not right after the determiner
        "Seit der Kater da ist, pinkelt er in die Wohnung",  # the animal is context, not the opening subject
        "Unsere Maus hat Angst vor Silvester",  # what owners call their dog
        "The chicken on the counter was gone, he stole it",  # food, not an animal subject
        "Er klaut Fisch vom Tisch",
    ],
)
def test_chased_animals_food_and_context_are_no_animal_subject(text: str) -> None:
    assert not TOPIC.evidence(text).animal_subject


def test_a_being_opening_the_sentence_is_not_excused_by_a_verb() -> None:
    assert TOPIC.evidence("Mein Nachbar buddelt im Garten").other_subject
    assert TOPIC.threshold("Mein Nachbar buddelt im Garten") is None


def test_strong_evidence_beats_another_subject() -> None:
    text = "Meine Katze und mein Hund streiten"
    assert TOPIC.evidence(text).other_subject
    assert TOPIC.threshold(text) == NAMED


@pytest.mark.parametrize("text", ["Er zieht so stark", "sie bellt ständig", "he growls at strangers"])
def test_behaviour_verbs_are_weak(text: str) -> None:
    found = TOPIC.evidence(text)
    assert found.weak and not found.strong
    assert TOPIC.threshold(text) == VERB


def test_verb_threshold_defaults_to_the_weak_one() -> None:
    assert Topic([], threshold=PLAIN, weak_threshold=NAMED).threshold("sie bellt ständig") == NAMED


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("Mein Hund bellt", DEFAULT_WEAK_THRESHOLD),
        ("sie bellt ständig", DEFAULT_VERB_THRESHOLD),
        ("Was kostet das", DEFAULT_THRESHOLD),
    ],
)
def test_verdict_at_the_servers_thresholds(text: str, needed: float) -> None:
    topic = _real_topic()
    assert topic.threshold(text) == needed
    assert topic.verdict(text, needed)
    assert not topic.verdict(text, needed - 0.01)


def test_the_servers_verb_threshold_is_the_lowest() -> None:
    assert min(DEFAULT_THRESHOLD, DEFAULT_WEAK_THRESHOLD) > DEFAULT_VERB_THRESHOLD
