"""server/knowledge/dialect.py and data/knowledge/dialect.yaml: dialect words read as standard German, and
standard German and English left exactly as they were."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.knowledge import loader
from server.knowledge.dialect import Dialect, load_dialect
from server.knowledge.loader import KnowledgeError
from server.knowledge.topic import DOG_NAMES
from server.knowledge.types import LANGUAGES

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"


@pytest.fixture(scope="module")
def dialect() -> Dialect:
    return load_dialect(ROOT / "dialect.yaml")


def standard_texts() -> list[str]:
    """The base's own prose in both languages: what the dog and the companion say (titles, the dog's view,
    first aid, instincts, exercises). Phrasings are left out: they quote owners, dialect included."""
    base = loader.load(ROOT, None)
    texts = []
    for language in LANGUAGES:
        for behavior in base.behaviors.values():
            t = behavior.text(language)
            texts += [t.title, t.dog_view, t.first_aid, *t.instincts.values()]
        for instinct in base.instincts.values():
            texts += [instinct.text(language).description, instinct.text(language).dog_voice]
        for exercise in base.exercises.values():
            e = exercise.text(language)
            texts += [e.title, e.background, *e.steps]
    return texts


def test_standard_german_and_english_come_back_unchanged(dialect: Dialect) -> None:
    texts = standard_texts()
    assert len(texts) > 1000
    changed = [(t, dialect.standard(t)) for t in texts if dialect.standard(t) != t]
    assert changed == []


def test_no_common_dog_name_is_read_as_a_word(dialect: Dialect) -> None:
    """Bavarian "mia" is "wir", but Mia is one of the most common dog names: names stay names."""
    assert set(dialect.words) & DOG_NAMES == set()
    assert dialect.standard("Mia frisst unterwegs alles") == "Mia frisst unterwegs alles"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Dä Hungk blaff jede aan", {"hund"}),
        ("er chunnt nöd, wenn mer rüeft", {"kommt", "nicht"}),
        ("Mei Hund is ned stubenrein", {"nicht"}),
        ("uns Hund löppt weg", {"läuft"}),
    ],
)
def test_dialect_words_are_read_as_standard_german(dialect: Dialect, text: str, words: set[str]) -> None:
    read = set(re.findall(r"\w+", dialect.standard(text).lower()))
    assert words <= read


def test_unknown_tokens_spacing_and_punctuation_stay() -> None:
    dialect = Dialect({"hungk": "hund", "d": "die"})
    assert dialect.standard("Dä Hungk!  Mega, 12 Uhr.") == "Dä hund!  Mega, 12 Uhr."
    assert dialect.standard("d'Hungk") == "die'hund"
    assert dialect.standard("d\u2019Hungk") == "die\u2019hund"
    assert Dialect({}).standard("Dä Hungk") == "Dä Hungk"


@pytest.mark.parametrize(
    "content",
    ["", "- a list\n", "hungk: 3\n", "Hungk: hund\n", "zwei wörter: hund\n", "hungk: ''\n", "hungk: [hund\n"],
)
def test_a_malformed_lexicon_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "dialect.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError):
        load_dialect(path)
