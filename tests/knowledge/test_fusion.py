"""Score fusion of the embedded retriever (knowledge/retrieval/embedded.py): real BM25, fixed vectors.

The vectors come from `TableEncoder`, a stand-in for the sentence encoder: these tests are about the
fusion arithmetic (normalization, ranks, convex vs RRF, the confidence), not the model, so each text
gets a vector chosen by the test and no model loads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from server.knowledge.retrieval.cache import EmbeddingCache
from server.knowledge.retrieval.embedded import (
    DENSE_WEIGHT,
    EmbeddedRetriever,
    Fusion,
    _normalize,
    _ranks,
)
from server.knowledge.retrieval.encoder import Vectors
from server.knowledge.retrieval.interface import Match
from server.knowledge.retrieval.weaviate_schema import passage_texts
from server.knowledge.types import INSTINCTS, Behavior, BehaviorText

AXIS = (1.0, 0.0, 0.0)  # every query's vector
ELSEWHERE = (0.0, 0.0, 1.0)  # orthogonal to every query
Indexed = Sequence[tuple[Behavior, Sequence[float]]]  # the behaviours in index order, each with its vector


def _toward(cosine: float) -> tuple[float, float, float]:
    """A unit vector with the given cosine to AXIS."""
    return (cosine, float(np.sqrt(1.0 - cosine**2)), 0.0)


class TableEncoder:
    """Implements `Encoder`: a behaviour's passages get the vector given for it, queries AXIS."""

    def __init__(self, vectors: Indexed) -> None:
        self.name = "table"
        self._table = {text: np.asarray(v) for b, v in vectors for text in passage_texts(b)}

    def encode(self, texts: Sequence[str]) -> Vectors:
        rows = [self._table.get(text, np.asarray(AXIS)) for text in texts]
        return np.asarray([row / np.linalg.norm(row) for row in rows], dtype=np.float32).reshape(len(texts), 3)


def _behavior(behavior_id: str, german: str, english: str) -> Behavior:
    return Behavior(
        id=behavior_id,
        title=behavior_id.capitalize(),
        phrasings=(german,),
        dog_view="Ich.",
        instincts={i: i for i in INSTINCTS},
        instinct_weights=dict.fromkeys(INSTINCTS, 25),
        first_aid="Pause.",
        exercises=(),
        en=BehaviorText(behavior_id.capitalize(), (english,), "Me.", {i: i for i in INSTINCTS}, "Pause."),
    )


LEASH = _behavior("alpha", "zieht an der Leine", "pulls on the leash")
LEASH_LONG = _behavior("gamma", "zieht an der Leine und frisst Gras und buddelt Löcher", "pulls and digs holes")
DOOR = _behavior("beta", "bellt an der Tür", "barks at the door")
ALONE = _behavior("delta", "jault wenn er allein ist", "howls when left alone")


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


async def _search(
    executor: ThreadPoolExecutor,
    vectors: Indexed,
    query: str,
    *,
    fusion: Fusion = "convex",
    limit: int = 10,
) -> list[Match]:
    retriever = EmbeddedRetriever(EmbeddingCache(TableEncoder(vectors), None), executor, fusion=fusion)
    await retriever.index([behavior for behavior, _ in vectors])
    return await retriever.search(query, limit)


def test_normalize_maps_min_to_zero_and_max_to_one() -> None:
    assert _normalize(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert _normalize(np.array([-1.0, -0.5, 0.0])).tolist() == [0.0, 0.5, 1.0]


def test_normalize_of_equal_scores_is_zero() -> None:
    assert _normalize(np.array([0.7, 0.7, 0.7])).tolist() == [0.0, 0.0, 0.0]


def test_ranks_count_from_one_best_first() -> None:
    assert _ranks(np.array([0.2, 0.9, 0.5])).tolist() == [3.0, 1.0, 2.0]


async def test_dense_only_confidence_is_the_weighted_cosine(executor: ThreadPoolExecutor) -> None:
    found = await _search(executor, [(LEASH, _toward(0.8)), (DOOR, _toward(0.5))], "xyzzy quux")
    assert [m.id for m in found] == ["alpha", "beta"]
    assert found[0].score == pytest.approx(DENSE_WEIGHT * 0.8, abs=1e-4)


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
async def test_best_confidence_does_not_depend_on_the_others(executor: ThreadPoolExecutor, fusion: Fusion) -> None:
    query = "er zieht an der Leine"
    alone = (ALONE, _toward(0.2))
    near = await _search(executor, [(LEASH, _toward(0.7)), (DOOR, _toward(0.6)), alone], query, fusion=fusion)
    far = await _search(executor, [(LEASH, _toward(0.7)), (DOOR, ELSEWHERE), alone], query, fusion=fusion)
    assert near[0].id == far[0].id == "alpha"
    assert near[0].score == far[0].score
    assert {m.id: m.score for m in near} != {m.id: m.score for m in far}, "the other candidates did change"
    lexical_part = near[0].score - DENSE_WEIGHT * 0.7
    assert 0 < lexical_part < (1 - DENSE_WEIGHT), "the saturated BM25 half adds, never beyond its weight"


async def test_a_weak_best_match_stays_weak(executor: ThreadPoolExecutor) -> None:
    """Min-max scaling would make any best candidate look certain; the confidence must not."""
    found = await _search(executor, [(LEASH, _toward(0.2)), (DOOR, ELSEWHERE)], "nichts passt hier")
    assert found[0].id == "alpha"
    assert found[0].score < 0.1


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
@pytest.mark.parametrize("query", ["er zieht an der Leine", "zieht Leine buddelt", "he howls at the door"])
async def test_scores_fall_along_the_ranking(executor: ThreadPoolExecutor, fusion: Fusion, query: str) -> None:
    # LEASH is lexically best for the leash queries; DOOR is nearest in meaning but has fewer words in common.
    vectors = [(LEASH, ELSEWHERE), (LEASH_LONG, _toward(0.3)), (DOOR, _toward(0.95)), (ALONE, _toward(0.1))]
    found = await _search(executor, vectors, query, fusion=fusion)
    scores = [m.score for m in found]
    assert len(found) == 4
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


async def test_limit_cuts_the_ranking(executor: ThreadPoolExecutor) -> None:
    vectors = [(LEASH, ELSEWHERE), (LEASH_LONG, _toward(0.3)), (DOOR, _toward(0.95))]
    found = await _search(executor, vectors, "er zieht an der Leine", limit=2)
    assert [m.id for m in found] == ["alpha", "gamma"]


async def test_convex_weighs_magnitudes_rrf_only_ranks(executor: ThreadPoolExecutor) -> None:
    """BM25 nearly ties the two leash behaviours; the door is nearest in meaning but shares no word.

    Convex fusion keeps the near-tie second (BM25 carries 0.7 of the weight); RRF sees only that the
    door ranks first by meaning and lifts it over the lexical runner-up.
    """
    vectors = [(LEASH, _toward(0.1)), (LEASH_LONG, _toward(0.0)), (DOOR, _toward(0.9))]
    query = "er zieht an der Leine"
    convex = await _search(executor, vectors, query, fusion="convex")
    rrf = await _search(executor, vectors, query, fusion="rrf")
    assert [m.id for m in convex] == ["alpha", "gamma", "beta"]
    assert [m.id for m in rrf] == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize("query", ["er zieht ständig an der Leine", "he pulls on the leash all the time"])
async def test_either_language_finds_the_behaviour(executor: ThreadPoolExecutor, query: str) -> None:
    # Same vector for all: the dense half cannot decide; DOOR comes first in the index, so a tie would show it.
    vectors = [(DOOR, _toward(0.5)), (LEASH, _toward(0.5))]
    found = await _search(executor, vectors, query)
    assert found[0].id == "alpha"
    assert found[0].score > DENSE_WEIGHT * 0.5


async def test_the_better_language_counts_not_the_sum(executor: ThreadPoolExecutor) -> None:
    """A query in both languages scores as its better half alone, so mixing languages earns no bonus."""
    vectors = [(DOOR, ELSEWHERE), (LEASH, ELSEWHERE)]
    german = await _search(executor, vectors, "zieht Leine")
    both = await _search(executor, vectors, "zieht Leine pulls leash")
    english = await _search(executor, vectors, "pulls leash")
    assert german[0].id == both[0].id == english[0].id == "alpha"
    assert both[0].score == pytest.approx(max(german[0].score, english[0].score), abs=1e-4)
