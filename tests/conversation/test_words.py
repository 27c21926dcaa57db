"""Yes/no/unsure/restart are whole words or phrases, German and English, with dialect, elongation and emoji."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from server.conversation.words import Intent, intent, is_restart


@pytest.mark.parametrize("text", ["ja", "Ja!", "jo", "jap", "klar", "gerne", "genau", "yes", "OK", "ja, bitte"])
def test_yes(text: str) -> None:
    assert intent(text) is Intent.YES


@pytest.mark.parametrize("text", ["nein", "nee", "nö", "no", "lieber nicht", "Nein danke", "ja, lieber nicht"])
def test_no(text: str) -> None:
    assert intent(text) is Intent.NO


@pytest.mark.parametrize("text", ["neu", "Neustart", "restart", "von vorne", "reset", "start over"])
def test_restart(text: str) -> None:
    assert intent(text) is Intent.RESTART


@pytest.mark.parametrize(
    "text", ["Jagd", "Jagdtrieb", "nochmal", "Nordsee", "okapi", "Klarinette", "Yesterday", "Neuer Zaun"]
)
def test_words_inside_other_words_do_not_count(text: str) -> None:
    assert intent(text) is Intent.OTHER


def test_restart_word_inside_a_long_story_is_not_a_command() -> None:
    assert intent("Wir sind neu hier und er bellt jeden Abend im Garten") is not Intent.RESTART


# --- Issue 11: dialect, elongation, emoji, "ne" = "eine", unsure ------------------------------------

TUNE = Path(__file__).resolve().parents[2] / "bench" / "data" / "eval" / "yesno_tune.yaml"
BOOLEANS = {True: "yes", False: "no"}  # PyYAML reads a bare yes/no as a boolean
MIN_ACCURACY = 0.98


def _label(value: object) -> str:
    return BOOLEANS[value] if isinstance(value, bool) else str(value)


def _predicted(text: str) -> str:
    said = intent(text)
    return "other" if said in (Intent.OTHER, Intent.RESTART) else said.value


def test_tuning_set_accuracy_and_no_yes_no_swaps() -> None:
    items = yaml.safe_load(TUNE.read_text(encoding="utf-8"))["items"]
    labelled = [(_label(item["text"]), _label(item["label"])) for item in items]
    assert {label for _, label in labelled} == {"yes", "no", "unsure", "other"}
    misses = [(text, label, got) for text, label in labelled if (got := _predicted(text)) != label]
    swapped = [miss for miss in misses if {miss[1], miss[2]} == {"yes", "no"}]
    assert not swapped, swapped
    assert 1 - len(misses) / len(labelled) >= MIN_ACCURACY, misses


@pytest.mark.parametrize(
    "text",
    [
        "jaaa",
        "JAAAA!",
        "jup",
        "joa",
        "jawoll",
        "klaro",
        "logo",
        "freilich",
        "passt",
        "gell",
        "unbedingt",
        "👍",
        "yesss",
        "na klar",
        "ja, zeig mir ne Übung",
        "jo, zeig mal ne Übung her",
    ],
)
def test_yes_dialect_elongation_emoji(text: str) -> None:
    assert intent(text) is Intent.YES


@pytest.mark.parametrize(
    "text",
    ["nei", "na", "naa", "neee", "Nöö", "noe", "👎", "ne, lass mal", "na, lieber nicht", "nope", "nah"],
)
def test_no_dialect_elongation_emoji(text: str) -> None:
    assert intent(text) is Intent.NO


@pytest.mark.parametrize(
    "text", ["jein", "vielleicht", "keine Ahnung", "Keine Ahnung 🤷", "na ja", "weiß nicht", "not sure", "idk"]
)
def test_unsure(text: str) -> None:
    assert intent(text) is Intent.UNSURE


@pytest.mark.parametrize(
    "text", ["Welpe ist neu, beißt", "Welpe ist neu, beißt in die Hände", "Der Hund ist neu bei uns"]
)
def test_neu_inside_a_description_is_no_restart(text: str) -> None:
    assert not is_restart(text)
    assert intent(text) is not Intent.RESTART


def test_restart_command_with_please() -> None:
    assert is_restart("Neustart bitte!")
    assert intent("von vorne bitte") is Intent.RESTART
