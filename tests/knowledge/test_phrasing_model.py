"""The phrasing model: a linear classifier over the n-grams of the behaviours' phrasings that reorders
retrieval's best candidates (search.py's `reordered`), fitted on the real base and refitted when it changes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.knowledge import loader
from server.knowledge.phrasing_model import PhrasingModel, examples_of
from server.knowledge.retrieval.interface import Match
from server.knowledge.search import FUSION_WEIGHT, reordered
from server.knowledge.types import Behavior

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"


@pytest.fixture(scope="module")
def behaviors() -> dict[str, Behavior]:
    return dict(loader.load(ROOT).behaviors)


def match(id_: str, score: float) -> Match:
    return Match(id=id_, title=id_, score=score)


def test_a_candidate_the_model_prefers_overtakes_a_close_leader() -> None:
    ranked = [match("a", 0.62), match("b", 0.58)]
    assert [m.id for m in reordered(ranked, {"a": -0.8, "b": 0.6})] == ["b", "a"]


def test_a_clear_leader_stays_first_and_scores_stay_retrievals() -> None:
    ranked = [match("a", 0.9), match("b", 0.3)]
    result = reordered(ranked, {"a": -0.5, "b": 0.5})
    assert [m.id for m in result] == ["a", "b"]
    assert [m.score for m in result] == [0.9, 0.3]


def test_without_weight_or_values_retrievals_order_stands() -> None:
    ranked = [match("a", 0.5), match("b", 0.49), match("c", 0.1)]
    assert reordered(ranked, {"c": 5.0}, weight=0.0) == ranked
    assert reordered(ranked, {}) == ranked
    assert FUSION_WEIGHT > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hüpft jeden besucher an", "anspringen"),  # no phrasing says it like this
        ("buddelt im beet", "graben"),
        ("er frisst unterwegs jeden mist", "fressen-unterwegs"),
        ("she pulls like a train on the lead", "leinenziehen"),
    ],
)
def test_the_model_ranks_the_described_behaviour_first(
    behaviors: dict[str, Behavior], text: str, expected: str
) -> None:
    assert text not in {t.lower() for _, t in examples_of(behaviors)}
    with ThreadPoolExecutor(1) as pool:
        values = PhrasingModel(lambda: behaviors, pool).scores_sync(text)
    assert set(values) == set(behaviors)
    assert max(values, key=lambda k: values[k]) == expected


def test_it_refits_when_the_base_changes(behaviors: dict[str, Behavior]) -> None:
    current = {"graben": behaviors["graben"], "anspringen": behaviors["anspringen"]}
    with ThreadPoolExecutor(1) as pool:
        model = PhrasingModel(lambda: current, pool)
        two = model.scores_sync("buddelt im beet")
        assert set(two) == {"graben", "anspringen"} and two["graben"] > two["anspringen"]
        current = {"graben": behaviors["graben"]}
        assert model.scores_sync("buddelt im beet") == {}  # one behaviour: nothing to tell apart
        current = dict(behaviors)
        assert set(model.scores_sync("buddelt im beet")) == set(behaviors)


def test_examples_hold_every_title_and_phrasing_in_both_languages(behaviors: dict[str, Behavior]) -> None:
    examples = examples_of(behaviors)
    graben = [text for owner, text in examples if owner == "graben"]
    behavior = behaviors["graben"]
    assert behavior.en is not None
    assert {behavior.title, behavior.en.title, *behavior.phrasings, *behavior.en.phrasings} == set(graben)
