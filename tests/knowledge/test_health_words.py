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
