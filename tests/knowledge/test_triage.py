"""Triage and abstention through the real `KnowledgeSearch` (embedded retriever, the shipped knowledge base).

Only a description of dog behaviour is matched; health signs, dog questions that are no behaviour,
off-topic and vague texts get no match and their own category. The sentences are written for these
tests (the evaluation sets in bench/data/eval/ are kept apart).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.knowledge import factory
from server.knowledge.message_model import NON_BEHAVIOUR
from server.knowledge.search import SearchResult
from server.knowledge.triage import Category

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def built(tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path) -> AsyncIterator[factory.Knowledge]:
    """The knowledge stack as the server builds it, once for this module."""
    knowledge = await factory.build(ROOT / "data" / "knowledge", tmp_path_factory.mktemp("overlay"), embedding_cache)
    yield knowledge
    await knowledge.aclose()


async def search(knowledge: factory.Knowledge, text: str, language: str = "de") -> SearchResult:
    return await knowledge.search.search(text, 3, language=language, behaviors=knowledge.store.base.behaviors)


@pytest.mark.parametrize(
    "text",
    [
        "Mein Hund ist komisch",
        "Hilfe, mein Hund ist aggressiv!!",
        "Unser Hund ist in letzter Zeit so schwierig",
        "my dog is weird",
        "he's just so naughty",
        "my dog has behaviour problems",
    ],
)
async def test_vague_descriptions_get_no_match(built: factory.Knowledge, text: str) -> None:
    result = await search(built, text)
    assert result.category is Category.VAGUE
    assert result.matches == []


@pytest.mark.parametrize(
    "text",
    [
        "er leckt sich ständig die Pfoten wund",
        "she hasn't eaten since yesterday and keeps vomiting",
        "Unsere Hündin knabbert sich seit Tagen die Pfote blutig",
        "Bello frisst seit zwei Tagen nichts mehr und liegt nur rum",
        "Unser Rüde humpelt seit dem Spaziergang hinten links",
        "he's been limping on his front leg since Sunday",
        "Unser alter Rex jault jedes Mal, wenn ich ihn hochhebe",
        "our 14 year old spaniel stands staring at the wall in the evenings",
        "my old girl has started leaking wee in her sleep",
        "Seit Tagen säuft sie literweise und will ständig raus",
        "my dog has had diarrhoea for three days",
        "Mein Dackel kann seit gestern die Treppe nicht mehr hoch und jault",
        "Sie trinkt in letzter Zeit Unmengen Wasser",
        "Unser alter Hund ist total abgemagert",
        "Sie frisst seit zwei Tagen ihr Futter nicht",
        "Er zittert und will nicht fressen",
        "Sie sabbert plötzlich extrem",
        "Er hat Blut im Kot",
        "he keeps scratching his ears and they smell",
        "my old boy can't get up in the mornings",
        "there's a lump on her side that wasn't there before",
        "he coughs like he has something stuck in his throat",
        "He seems to be in pain when he lies down",
        "Seine Pfote ist ganz dick",
        "Sie schont das rechte Vorderbein",
        "Er hat Schokolade gefressen, was soll ich tun",
        "Die Augen sind morgens total verklebt",
        "Unser Rüde hat sich das Kreuzband gerissen",
        "she keeps straining to poo but nothing comes out",
        "his eye looks cloudy",
        "He ate a bar of dark chocolate",
    ],
)
async def test_health_signs_are_health(built: factory.Knowledge, text: str) -> None:
    result = await search(built, text)
    assert result.category is Category.HEALTH
    assert result.matches == []


@pytest.mark.parametrize(
    "text",
    [
        "Wie oft muss ich meinen Welpen entwurmen?",
        "how often should I worm my puppy?",
        "Welche Hundeversicherung lohnt sich für einen Labrador?",
        "is pet insurance for dogs worth it?",
        "Welches Trockenfutter ist am besten für meinen Hund?",
        "which dog food brand do you recommend?",
        "Ich habe selbst Angst vor Hunden",
        "I'm scared of dogs myself",
        "Muss ich für meinen Hund Hundesteuer zahlen?",
        "Ab wann darf mein Welpe geimpft werden?",
    ],
)
async def test_dog_questions_that_are_no_behaviour(built: factory.Knowledge, text: str) -> None:
    result = await search(built, text)
    assert result.category is Category.DOG_RELATED
    assert result.matches == []


async def test_short_text_is_never_matched_to_another_behaviour(built: factory.Knowledge) -> None:
    """ "Welpe ist neu, beißt" is too short to be sure: the search may abstain (a question follows), but it
    must never answer with a wrong behaviour (a wrong confident answer is worse than a question)."""
    result = await search(built, "Welpe ist neu, beißt")
    assert [m.id for m in result.matches][:1] in ([], ["schnappen-haende"])


@pytest.mark.parametrize(
    "text",
    [
        "Wie wird das Wetter morgen?",
        "what's the weather like in Berlin tomorrow?",
        "Meine Katze kratzt am Sofa",
        "my cat keeps scratching the sofa",
        "Mein Auto macht komische Geräusche",
        "Unser Kater pinkelt an die Haustür.",  # another animal as subject: whatever the behaviour, not a dog's
        "Our rabbit keeps chewing the skirting boards.",
    ],
)
async def test_off_topic(built: factory.Knowledge, text: str) -> None:
    result = await search(built, text)
    assert result.category is Category.OFF_TOPIC
    assert result.matches == []


@pytest.mark.parametrize(
    ("text", "language", "slug"),
    [
        ("Unser Welpe beißt beim Spielen ständig in meine Hände und Finger.", "de", "schnappen-haende"),
        ("Mein Hund zieht an der Leine wie ein Ochse", "de", "leinenziehen"),
        ("Unser Labrador klaut das Essen vom Tisch", "de", "essen-klauen"),
        ("he pulls like mad on the lead", "en", "leinenziehen"),
        ("our dog pulls so hard on the leash that my arm hurts", "en", "leinenziehen"),
        ("she barks like crazy whenever someone rings the doorbell", "en", "bellen-klingel"),
        ("he barks at the fence whenever the neighbours walk past", "en", "zaun-verbellen"),
        ("our puppy keeps nipping at our hands and sleeves", "en", "schnappen-haende"),
    ],
)
async def test_behaviour_matched(built: factory.Knowledge, text: str, language: str, slug: str) -> None:
    result = await search(built, text, language)
    assert result.category is Category.BEHAVIOUR
    assert result.matches, text
    assert result.matches[0].id == slug, result.matches
    assert all(0 < m.score <= 1 for m in result.matches)


async def test_titles_follow_the_language(built: factory.Knowledge) -> None:
    behaviors = built.store.base.behaviors
    text = "he pulls like mad on the lead"
    english = await built.search.search(text, 3, language="en", behaviors=behaviors)
    german = await built.search.search(text, 3, language="de", behaviors=behaviors)
    assert english.matches and [m.id for m in english.matches] == [m.id for m in german.matches]
    for en, de in zip(english.matches, german.matches, strict=True):
        assert en.title == behaviors[en.id].en.title  # type: ignore[union-attr]
        assert de.title == behaviors[de.id].title
        assert en.title != de.title


@pytest.mark.parametrize(
    "text",
    [
        "How long do Bernese mountain dogs usually live?",
        "Wie viel Auslauf braucht ein Border Collie am Tag?",
        "Can dogs eat strawberries?",
    ],
)
async def test_the_model_sorts_dog_questions_the_word_lists_miss(built: factory.Knowledge, text: str) -> None:
    assert await built.search.sort_by_words(text) is None  # no word list knows them
    result = await search(built, text)
    assert result.category is Category.DOG_RELATED
    assert result.matches == []


@pytest.mark.parametrize("text", ["Er zieht an der Leine wie verrückt", "she barks at the postman every morning"])
async def test_the_model_finds_a_behaviour_in_behaviour_descriptions(built: factory.Knowledge, text: str) -> None:
    assert built.search.messages is not None
    values = await built.search.messages.scores(text)
    assert max(values, key=lambda owner: values[owner]) not in NON_BEHAVIOUR
    assert (await search(built, text)).category is Category.BEHAVIOUR
