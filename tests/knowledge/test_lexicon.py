"""The retrieval lexicon (knowledge/retrieval/lexicon.py): compounds, typos, dialect and separable verbs."""

from __future__ import annotations

import pytest

from server.knowledge.retrieval.lexicon import Lexicon, lexicons

GERMAN = [
    "Er springt Besucher an und zieht an der Leine.",
    "Der Ball ist alles für ihn, er ist verrückt danach.",
    "Krallen schneiden mag sie nicht, sie wehrt sich.",
    "Der Welpe wird nicht stubenrein und pinkelt in die Wohnung.",
    "Aggression gegen andere Hunde, er bellt lange und knurrt.",
    "Sie anspringen, wenn Kinder kommen.",
]
ENGLISH = ["She jumps up at everyone in the lane.", "He pulls on the lead."]


@pytest.fixture(scope="module")
def found() -> dict[str, Lexicon]:
    return lexicons({"de": GERMAN, "en": ENGLISH})


def test_compounds_are_split_into_known_words(found: dict[str, Lexicon]) -> None:
    assert found["de"].compound("ballverrückt") == ("ball", "verrückt")
    assert found["de"].compound("krallenschneiden") == ("krallen", "schneiden")
    assert found["de"].compound("leinenaggression") == ("leinen", "aggression")
    assert found["de"].compound("verrückt") == ()
    assert found["en"].compound("leadpulls") == ()  # English words are not split


def test_one_typo_is_corrected_but_not_names_or_the_other_language(found: dict[str, Lexicon]) -> None:
    assert found["de"].correction("stubenrien") == "stubenrein"
    assert found["en"].correction("jumsp") == "jumps"
    assert found["de"].correction("bella") is None  # a dog name, not "bellt"
    assert found["en"].correction("lange") is None  # German, not a typo of "lane"
    assert found["de"].correction("xyzzy") is None


def test_normalize_maps_dialect_and_joins_separable_verbs(found: dict[str, Lexicon]) -> None:
    assert "kinder" in found["de"].normalize("Er bisst d Chind").split()
    joined = found["de"].normalize("Er springt jeden an, der kommt.").split()
    assert "anspringt" in joined or "anspringen" in joined
    assert "anzieht" not in found["de"].normalize("er zieht an der leine").split()  # "an" opens a phrase here


def test_documents_get_their_compound_parts(found: dict[str, Lexicon]) -> None:
    words = found["de"].document("Leinenaggression bei Hundebegegnungen").split()
    assert {"leinen", "aggression"} <= set(words)
