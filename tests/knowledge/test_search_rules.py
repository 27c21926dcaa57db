"""The decision rules of search.py: a best match a little below its threshold passes when it leads the
runner-up clearly or when the triage model finds the same behaviour nearest; the model's category
overrides a match only when clearly nearer; the word lists decide first."""

from __future__ import annotations

import pytest

from server.knowledge.search import (
    AGREEMENT_FLOOR,
    CLEAR_WINNER_MARGIN,
    CLEAR_WINNER_SLACK,
    MODEL_OVERRIDE_LEAD,
    agreed,
    confident,
    decide,
)
from server.knowledge.triage import Category
from server.knowledge.triage_model import Opinion

NEEDED = 0.6


def test_at_or_above_the_threshold_passes_whatever_the_runner_up() -> None:
    assert confident([NEEDED, NEEDED - 0.01], NEEDED)
    assert confident([0.9, 0.89], NEEDED)


def test_a_clear_winner_slightly_below_passes() -> None:
    best = NEEDED - CLEAR_WINNER_SLACK
    assert confident([best, best - CLEAR_WINNER_MARGIN], NEEDED)


@pytest.mark.parametrize(
    "scores",
    [
        [NEEDED - 0.05, NEEDED - 0.05 - CLEAR_WINNER_MARGIN + 0.01],  # close runner-up
        [NEEDED - CLEAR_WINNER_SLACK - 0.01, 0.0],  # too far below, however alone
        [],
    ],
    ids=["close-runner-up", "too-far-below", "nothing"],
)
def test_otherwise_it_abstains(scores: list[float]) -> None:
    assert not confident(scores, NEEDED)


def test_agreement_needs_the_model_to_find_the_same_behaviour_nearest() -> None:
    near = Opinion(Category.BEHAVIOUR, -0.1, "leinenziehen")
    assert agreed("leinenziehen", AGREEMENT_FLOOR, near)
    assert not agreed("rueckruf", 0.9, near)  # the model finds another behaviour nearest
    assert not agreed("leinenziehen", AGREEMENT_FLOOR - 0.01, near)  # too weak a match
    assert not agreed("leinenziehen", 0.9, Opinion(Category.HEALTH, 0.1, "leinenziehen"))
    assert not agreed("leinenziehen", 0.9, None)


def test_the_model_overrides_a_match_only_when_clearly_nearer_another_category() -> None:
    assert decide(None, True, Opinion(Category.HEALTH, MODEL_OVERRIDE_LEAD - 0.01)) is Category.BEHAVIOUR
    assert decide(None, True, Opinion(Category.HEALTH, MODEL_OVERRIDE_LEAD)) is Category.HEALTH
    assert decide(None, False, Opinion(Category.DOG_RELATED, 0.001)) is Category.DOG_RELATED
    assert decide(None, False, Opinion(Category.BEHAVIOUR, -0.2)) is None
    assert decide(Category.VAGUE, True, Opinion(Category.BEHAVIOUR, -0.2)) is Category.VAGUE  # word lists first
