"""The health word lists of triage.py: which words read as a sign, and which signs are urgent (the vet
answer whatever behaviour the text also describes)."""

from __future__ import annotations

import pytest

from server.knowledge import triage


@pytest.mark.parametrize(
    "text",
    [
        "Er zieht seinen Hintern über den Boden, immer wieder.",
        "sie dreht sich im kreis, der kopf ist ganz schief",
        "De Hund frisst nüt meh",
        "biting at his bum, anal glands maybe?",
        "er ist taub geworden, glaube ich",
        "she has a lump on her side",
        "er ist total schlapp",
    ],
)
def test_signs_are_read(text: str) -> None:
    assert triage.health_signs(text)


@pytest.mark.parametrize(
    "text",
    [
        "Jeds Moi wenn Besuch da is, bellt da Lumpi de Leit o",  # a dog's name, no lump
        "Der hat ma de Schlappn zerbissn",  # Bavarian slippers
        "draußen ist sie taub für alles",  # deaf to everything: not listening
        "auf dem Feld ist es, als wäre er taub",
        "she digs her paws in and goes limp",  # floppy, no limp
    ],
)
def test_figures_of_speech_are_no_sign(text: str) -> None:
    assert not triage.health_signs(text)


@pytest.mark.parametrize(
    "text",
    [
        "Unsere beiden Hündinnen geraten aneinander, gestern gab es eine blutige Beißerei.",
        "At the off-lead field he starts scraps with dogs he's never met, there's been blood once.",
        "meine hündin ist läufig, blutet grad und will dauernd raus",
        "Unsere zwei Hündinnen zanken sich daheim um jeden Schlafplatz, gestern floss Blut.",
        "My older boy keeps pinning the new rescue in the hallway and there's been blood.",
        "The spaniel bitch across the road is in season and Diesel is off his food, howling at the gate.",
        "Die Hündin nebenan ist läufig, seitdem frisst er kaum und jault am Zaun.",
        "Draußen friedlich, aber im Flur gibt's Knurren und Rangeleien, neulich mit Blut.",
    ],
)
def test_blood_from_a_fight_or_a_heat_is_not_urgent(text: str) -> None:
    assert triage.health_signs(text)  # still a sign: a behaviour the model is sure of answers, else the vet
    assert not triage.urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "Er blutet am Bein",
        "Nach der Rauferei hat er Blut im Kot",  # blood in the stool stays urgent, fight or not
        "she's been limping since the fight",
        "he bit the other dog and now he is vomiting",
        "Nach der Rauferei frisst er nicht mehr",  # off his food after a fight: no heat explains it
        "she's in season and bleeding from the mouth",
    ],
)
def test_other_urgent_signs_stay_urgent(text: str) -> None:
    assert triage.urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "fiept den ganzen Tag, Tierarzt sagt er ist kerngesund",
        "Tierärztlich ist alles abgeklärt, trotzdem jammert sie",
        "Die Tierärztin hat nichts gefunden, aber er pinkelt in die Küche",
        "Blasenentzündung? Ausgeschlossen, trotzdem macht sie aufs Sofa",
        "Blutwerte top, aber er frisst Kot",
        "Bloodwork came back normal, but he keeps eating his own poo",
        "the vet found nothing, yet she whines all day",
        "clean bill of health, still squats on the rug",
    ],
)
def test_a_vet_who_ruled_it_out_is_read(text: str) -> None:
    assert triage.vet_cleared(text)


@pytest.mark.parametrize(
    "text",
    [
        "Der Tierarzt sagt, er ist nicht gesund",
        "Der Tierarzt hat ihm nichts gegeben und er humpelt",
        "Tierarzt sagt, er hat eine Blasenentzündung",
        "the vet said he's not fine",
        "we go to the vet on Monday, he keeps vomiting",
    ],
)
def test_a_vet_who_found_something_or_was_not_seen_is_no_all_clear(text: str) -> None:
    assert not triage.vet_cleared(text)


@pytest.mark.parametrize(
    ("text", "elsewhere"),
    [
        ("Auf der Autobahn kotzt sie jedes Mal in den Kofferraum", "Auf der Wiese kotzt sie jedes Mal ins Gras"),
        ("Spätestens am Ortsausgang erbricht er auf die Rückbank", "Seit gestern erbricht er immer wieder"),
        ("she vomits all over the back seat on every road trip", "she vomits all over the rug every morning"),
    ],
)
def test_sickness_in_the_car_is_no_health_sign(text: str, elsewhere: str) -> None:
    assert not triage.signals(text).health
    assert triage.signals(elsewhere).health
