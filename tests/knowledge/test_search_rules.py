"""The threshold rule of search.py's path without the message model: a best match a little below its
threshold passes when it leads the runner-up clearly."""

from __future__ import annotations

import pytest

from server.knowledge.search import (
    CLEAR_WINNER_MARGIN,
    CLEAR_WINNER_SLACK,
    confident,
)

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
