"""The knowledge base in data/knowledge/ satisfies its schema (README.md there) on load, in German and English."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.knowledge import loader
from server.knowledge.types import INSTINCTS, PROFILE_VALUES, VARIANT_PARTS, KnowledgeBase

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"
REQUIRED_SLUGS = [
    "leinenziehen",
    "leinenaggression",
    "aggression-artgenossen",
    "rueckruf",
    "bellen-klingel",
    "alleinbleiben",
    "futteraggression",
    "ressourcen-spielzeug",
    "anspringen",
    "jagen-wild",
    "jagen-katzen",
    "jagen-bewegung",
    "winseln",
    "markieren-wohnung",
    "aufreiten",
    "graben",
    "zerstoeren",
    "kot-fressen",
    "fressen-unterwegs",
    "liegeplatz-verteidigen",
    "besucher-verbellen",
    "kinder-anknurren",
    "angst-geraeusche",
    "angst-fremde",
    "autofahren",
    "zaun-verbellen",
    "schnappen-haende",
    "hinterherlaufen",
    "halter-beschuetzen",
    "hueten-zwicken",
    "laeufige-huendin",
    "streunen",
    "stubenreinheit",
    "betteln",
    "essen-klauen",
    "ueberdreht",
    "schwanzjagen",
    "anfassen-pflege",
    "nachts-bellen",
    "zweithund-streit",
    "leine-beissen",
    "waelzen",
    "ball-fixiert",
    "hochheben-knurren",
]


def test_base_loads_with_minimum_sizes() -> None:
    base = loader.load(ROOT)
    assert len(base.behaviors) >= 40
    assert len(base.exercises) >= 20
    assert len(base.breed_groups) >= 10
    assert set(base.instincts) == set(INSTINCTS)


def test_required_slugs_present_and_ids_equal_file_names() -> None:
    base = loader.load(ROOT)
    assert set(REQUIRED_SLUGS) <= set(base.behaviors)
    for path in (ROOT / "behaviors").glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"] == path.stem


def test_behaviours_complete() -> None:
    base = loader.load(ROOT)
    for behavior in base.behaviors.values():
        assert len(behavior.phrasings) >= 5, behavior.id
        assert set(behavior.instincts) == set(INSTINCTS), behavior.id
        assert sum(behavior.instinct_weights.values()) == 100, behavior.id
        assert all(e in base.exercises for e in behavior.exercises), behavior.id
    for group in base.breed_groups:
        assert sum(group.instincts.values()) == 100, group.id


def test_no_alias_in_two_groups() -> None:
    aliases = [a for g in loader.load(ROOT).breed_groups for a in g.aliases]
    assert len(aliases) == len(set(aliases))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(id="anders"), "leinenziehen.yaml: id: 'anders' differs from the file name"),
        (lambda d: d["instinct_weights"].update(jagd=99), "leinenziehen.yaml: instinct_weights: must sum to 100"),
        (lambda d: d.update(exercises=["gibt-es-nicht"]), "exercises: unknown exercise 'gibt-es-nicht'"),
        (lambda d: d["instincts"].pop("sexual"), "leinenziehen.yaml: instincts.sexual: is required"),
        (lambda d: d.update(phrasings=["nur eine"]), "leinenziehen.yaml: phrasings: needs at least 5 entries, has 1"),
    ],
)
def test_broken_behaviour_is_reported(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "knowledge"
    shutil.copytree(ROOT, copy)
    path = copy / "behaviors" / "leinenziehen.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(loader.KnowledgeError) as caught:
        loader.load(copy)
    assert any(expected in p for p in caught.value.problems)


def test_alias_in_two_groups_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(ROOT, copy)
    data = yaml.safe_load((copy / "breeds.yaml").read_text(encoding="utf-8"))
    data["breed_groups"][1]["aliases"].append(data["breed_groups"][0]["aliases"][0])
    (copy / "breeds.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(loader.KnowledgeError, match="also in group"):
        loader.load(copy)


# --- Both languages (issue 11) -------------------------------------------------------------------

# German function words that never belong in an English text ("die" is English too, so it is left out).
GERMAN_WORDS = re.compile(r"(?<![\w'])(und|nicht|ich|mein|meine|der|das|ist|wenn|auch)(?![\w'])", re.IGNORECASE)
UMLAUTS = re.compile(r"[äöüßÄÖÜ]")
# Phrases that assume the age, sex or home of the owner's dog; only variants may say them.
ASSUMPTIONS = re.compile(
    r"\b(als welpe|als hündin|als rüde|as a puppy|as a female|as a male|unsere wohnung|our flat)\b", re.IGNORECASE
)


def _english_texts(base: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """(where, text) for every English text of the base."""
    for behavior in base.behaviors.values():
        assert behavior.en is not None, behavior.id
        en = behavior.en
        yield from ((f"{behavior.id}.en.phrasings", p) for p in en.phrasings)
        yield from (
            (f"{behavior.id}.en.{k}", v)
            for k, v in (("title", en.title), ("dog_view", en.dog_view), ("first_aid", en.first_aid))
        )
        yield from ((f"{behavior.id}.en.instincts.{k}", v) for k, v in en.instincts.items())
        yield from ((f"{behavior.id}.variants.en", v.texts["en"]) for v in behavior.variants)
    for instinct in base.instincts.values():
        assert instinct.en is not None, instinct.id
        yield from (
            (f"instincts.{instinct.id}.en", t)
            for t in (instinct.en.name, instinct.en.description, instinct.en.dog_voice)
        )
    for exercise in base.exercises.values():
        assert exercise.en is not None, exercise.id
        yield from ((f"exercises.{exercise.id}.en", t) for t in (exercise.en.title, exercise.en.background))
        yield from ((f"exercises.{exercise.id}.en.steps", s) for s in exercise.en.steps)
    for group in base.breed_groups:
        yield from ((f"breeds.{group.id}.en", t) for t in (group.names.get("en", ""), group.notes.get("en", "")))


def test_every_text_exists_in_english() -> None:
    base = loader.load(ROOT)
    for behavior in base.behaviors.values():
        en = behavior.en
        assert en is not None, behavior.id
        assert en.title and en.dog_view and en.first_aid and len(en.phrasings) >= 5, behavior.id
        assert set(en.instincts) == set(INSTINCTS) and all(en.instincts.values()), behavior.id
        assert en.title != behavior.title and en.dog_view != behavior.dog_view, behavior.id
        for variant in behavior.variants:
            assert variant.texts.get("de") and variant.texts.get("en"), behavior.id
    for instinct in base.instincts.values():
        assert instinct.en is not None and instinct.en.name and instinct.en.description and instinct.en.dog_voice
        assert instinct.en.dog_voice != instinct.dog_voice, instinct.id
    for exercise in base.exercises.values():
        assert exercise.en is not None and exercise.en.title and exercise.en.background, exercise.id
        assert exercise.en.steps and all(exercise.en.steps), exercise.id
        assert exercise.en.background != exercise.background, exercise.id
    for group in base.breed_groups:
        assert group.names.get("en") and group.notes.get("en") and group.notes.get("de"), group.id
        assert group.notes["en"] != group.notes["de"], group.id


def test_exercise_steps_have_the_same_count_in_both_languages() -> None:
    for exercise in loader.load(ROOT).exercises.values():
        assert exercise.en is not None
        assert len(exercise.steps) == len(exercise.en.steps) >= 4, exercise.id


def test_english_texts_hold_no_german() -> None:
    found = [
        f"{where}: {hit.group(0)!r} in {text[:80]!r}"
        for where, text in _english_texts(loader.load(ROOT))
        for hit in (*GERMAN_WORDS.finditer(text), *UMLAUTS.finditer(text))
    ]
    assert not found, "\n".join(found)


def test_german_word_check_finds_german() -> None:
    """The check above can fail: it finds the words it looks for, and not inside English words."""
    assert GERMAN_WORDS.search("I bark, und then I wait")
    assert UMLAUTS.search("I love the Gassirunde über the field")
    assert not GERMAN_WORDS.search("Dogs die under dashboards? Understand, Ischia, Derby, Isthmus")


def test_base_texts_never_assume_the_dogs_age_sex_or_home() -> None:
    base = loader.load(ROOT)
    found = []
    for behavior in base.behaviors.values():
        for language in ("de", "en"):
            texts = behavior.text(language)
            for part, text in (("dog_view", texts.dog_view), *texts.instincts.items()):
                found += [f"{behavior.id} {language} {part}: {m.group(0)!r}" for m in ASSUMPTIONS.finditer(text)]
    for instinct in base.instincts.values():
        for language in ("de", "en"):
            said = instinct.text(language)
            for text in (said.description, said.dog_voice):
                found += [f"instincts.{instinct.id} {language}: {m.group(0)!r}" for m in ASSUMPTIONS.finditer(text)]
    assert not found, "\n".join(found)
    assert ASSUMPTIONS.search("Als Welpe habe ich das gelernt.") and ASSUMPTIONS.search("in our flat I bark")


def test_variants_use_known_conditions_and_parts() -> None:
    behaviors = loader.load(ROOT).behaviors.values()
    assert any(b.variants for b in behaviors)
    for behavior in behaviors:
        for variant in behavior.variants:
            assert variant.when, behavior.id
            assert all(value in PROFILE_VALUES[key] for key, value in variant.when.items()), behavior.id
            assert variant.part in VARIANT_PARTS, behavior.id
            assert set(variant.texts) == {"de", "en"}, behavior.id


def _behavior_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "behaviors" / "leinenziehen.yaml").read_text(encoding="utf-8"))
    data["variants"] = [{"when": {"age": "puppy"}, "part": "jagd", "de": "Als Welpe übe ich.", "en": "I'm a pup."}]
    return data


def test_valid_variant_parses() -> None:
    problems: list[str] = []
    behavior = loader.parse_behavior(_behavior_data(), "behavior", problems)
    assert problems == []
    assert behavior is not None and len(behavior.variants) == 1
    assert dict(behavior.variants[0].when) == {"age": "puppy"} and behavior.variants[0].part == "jagd"


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ({"when": {"colour": "black"}, "part": "jagd", "de": "x", "en": "x"}, "variants[0].when: must map some of"),
        ({"when": {}, "part": "jagd", "de": "x", "en": "x"}, "variants[0].when: must map some of"),
        ({"part": "jagd", "de": "x", "en": "x"}, "variants[0].when: is required"),
        ({"when": {"age": "baby"}, "part": "jagd", "de": "x", "en": "x"}, "variants[0].when: unknown value age=baby"),
        ({"when": {"sex": "puppy"}, "part": "jagd", "de": "x", "en": "x"}, "variants[0].when: unknown value sex=puppy"),
        ({"when": {"place": "garden"}, "part": "tail", "de": "x", "en": "x"}, "variants[0].part: must be one of"),
        ({"when": {"age": "senior"}, "part": "dog_view", "de": "x"}, "variants[0].en: is required"),
        ({"when": {"age": "senior"}, "part": "dog_view", "de": " ", "en": "x"}, "variants[0].de: must be a non-empty"),
        ("nur ein Satz", "variants[0]: must be a mapping"),
    ],
)
def test_broken_variant_is_rejected(variant: object, expected: str) -> None:
    data = _behavior_data()
    data["variants"] = [variant]
    problems: list[str] = []
    loader.parse_behavior(data, "behavior", problems)
    assert any("variants[0]" in p and expected in p for p in problems), problems


def test_variants_must_be_a_list() -> None:
    data = _behavior_data()
    data["variants"] = {"when": {"age": "puppy"}}
    problems: list[str] = []
    loader.parse_behavior(data, "behavior", problems)
    assert "behavior: variants: must be a list" in problems, problems


def test_behaviour_without_english_is_rejected() -> None:
    data = _behavior_data()
    del data["en"]
    problems: list[str] = []
    loader.parse_behavior(data, "behavior", problems)
    assert "behavior: en: is required" in problems, problems


def test_every_finding_is_reported_at_once_with_its_location() -> None:
    """The schema reports all problems of a document, each with its place, and refuses unknown keys."""
    data = _behavior_data()
    data["en"]["phrasings"][2] = "   "
    data["instinct_weights"]["jagd"] = "viel"
    data["exercise"] = data.pop("exercises")
    problems: list[str] = []
    assert loader.parse_behavior(data, "behaviors/x.yaml", problems) is None
    assert sorted(problems) == [
        "behaviors/x.yaml: en.phrasings[2]: must be a non-empty text",
        "behaviors/x.yaml: exercise: is not a field of the schema",
        "behaviors/x.yaml: exercises: is required",
        "behaviors/x.yaml: instinct_weights.jagd: must be an integer 0..100",
    ]


def test_every_behaviour_lists_one_to_three_existing_exercises() -> None:
    base = loader.load(ROOT)
    for behavior in base.behaviors.values():
        assert 1 <= len(behavior.exercises) <= 3, behavior.id
        assert len(set(behavior.exercises)) == len(behavior.exercises), behavior.id
        assert all(e in base.exercises for e in behavior.exercises), behavior.id


@pytest.mark.parametrize(
    ("exercises", "expected"),
    [
        ([], "needs 1 to 3 exercises"),
        (["lockere-leine", "rueckruf-aufbau", "deckentraining", "tauschen-lernen"], "needs 1 to 3 exercises"),
        (["gibt-es-nicht"], "unknown exercise"),
    ],
)
def test_exercise_references_are_checked(exercises: list[str], expected: str) -> None:
    base = loader.load(ROOT)
    behavior = replace(base.behaviors["leinenziehen"], exercises=tuple(exercises))
    problems = loader.check_references({behavior.id: behavior}, base.exercises)
    assert any(expected in p for p in problems), problems
