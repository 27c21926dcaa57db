"""Yes/no/restart are whole words or phrases, German and English."""

from __future__ import annotations

import pytest

from server.conversation.words import Intent, intent


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
