"""The embedded retriever: BM25 over stemmed German and English text fused with dense vectors, no server.

Each behaviour is one BM25 document per language (title, owner phrasings, the dog's view; German
stemmed as German, English as English) and several dense passages (titles and phrasings of both
languages; a behaviour scores its best passage). A query is stemmed both ways and a behaviour keeps
its better lexical score, so an owner may write either language (or mix them). Before stemming, each
language's `Lexicon` (lexicon.py) brings the query's dialect forms, compounds, separable verbs and typos to
the knowledge base's words, and splits the documents' own compounds. The two score lists are
fused by a convex combination of min-max normalized scores (default) or by reciprocal rank fusion;
bench/triage.py measures both, and the convex combination ranked better on our evaluation set
because BM25 is much stronger than the dense model here, which RRF's equal rank weighting hides.

The confidence of the best match (0..1) is the mean of its dense cosine and a saturated BM25 score,
so it does not depend on the other candidates; lower ranks get it scaled by their
fused score. All CPU work runs in a thread pool, never on the event loop; query vectors come from a
`QueryEncoder` (queries.py: an LRU of recent texts, micro-batches across concurrent searches).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import bm25s
import numpy as np
import numpy.typing as npt

from server.knowledge.types import LANGUAGES, Behavior

from .cache import EmbeddingCache
from .encoder import Vectors
from .interface import Match
from .lexicon import Lexicon, lexicons
from .queries import QueryEncoder, Vector
from .weaviate_schema import StemmedTerms, document, passage_texts

Fusion = Literal["convex", "rrf"]
Scores = npt.NDArray[np.float64]
# Tuning part: recall@1 0.907 de / 0.950 en at 0.3, 0.901 / 0.925 at 0.5; with the lexicon (2026-12-02) flat
# between 0.1 and 0.35, lower from 0.4 on.
DENSE_WEIGHT = 0.3
BM25_SATURATION = 3.0  # a BM25 score of 3 gives 63 % of the lexical half of the confidence
RRF_K = 60


@dataclass(frozen=True)
class _Index:
    behaviors: tuple[Behavior, ...]
    passages: Vectors  # one row per passage
    owner: npt.NDArray[np.int64]  # passage row -> behaviour index
    bm25: dict[str, Any]  # language -> bm25s.BM25 (untyped library)
    lexicons: dict[str, Lexicon]  # language -> the words its BM25 documents know


def _normalize(scores: Scores) -> Scores:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _ranks(scores: Scores) -> Scores:
    return np.argsort(np.argsort(-scores)).astype(np.float64) + 1.0


class EmbeddedRetriever:
    """Implements `Retriever`; `cache` embeds (and caches) the passages, `executor` runs the CPU work,
    `queries` gives query vectors (by default a `QueryEncoder` of the cache's encoder on `executor`)."""

    def __init__(
        self,
        cache: EmbeddingCache,
        executor: ThreadPoolExecutor,
        *,
        fusion: Fusion = "convex",
        queries: QueryEncoder | None = None,
    ) -> None:
        self._cache = cache
        self._executor = executor
        self._fusion = fusion
        self._queries = queries or QueryEncoder(cache.encoder, executor)
        self._terms = {language: StemmedTerms(language) for language in LANGUAGES}
        self._index: _Index | None = None
        self._lock = asyncio.Lock()

    async def index(self, behaviors: Sequence[Behavior]) -> None:
        async with self._lock:  # one rebuild at a time; searches keep using the previous index meanwhile
            loop = asyncio.get_running_loop()
            self._index = await loop.run_in_executor(self._executor, self._build, tuple(behaviors))

    async def search(self, query: str, limit: int) -> list[Match]:
        index = self._index
        if index is None or not index.behaviors:
            return []
        vector = await self._queries.vector(query)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._rank, index, query, vector, limit)

    def _build(self, behaviors: tuple[Behavior, ...]) -> _Index:
        texts: list[str] = []
        owner: list[int] = []
        for i, behavior in enumerate(behaviors):
            for text in passage_texts(behavior):
                texts.append(text)
                owner.append(i)
        documents = {language: [document(b, language) for b in behaviors] for language in self._terms}
        found = lexicons(documents)
        indexes = {}
        for language, terms in self._terms.items():
            indexes[language] = bm25s.BM25()
            if behaviors:
                expanded = [found[language].document(d) for d in documents[language]]
                indexes[language].index(terms.tokenize(expanded, return_ids=True), show_progress=False)
        return _Index(behaviors, self._cache.embed(texts), np.asarray(owner, dtype=np.int64), indexes, found)

    def _lexical(self, index: _Index, query: str) -> Scores:
        """The better of the German and the English BM25 score of each behaviour."""
        best = np.zeros(len(index.behaviors))
        for language, terms in self._terms.items():
            words = terms.tokenize([index.lexicons[language].normalize(query)])[0]
            if words:
                best = np.maximum(best, np.asarray(index.bm25[language].get_scores(words)))
        return best

    def search_sync(self, index: _Index, query: str, limit: int) -> list[Match]:
        """The blocking search, query encoding included (bench/triage.py calls it directly)."""
        return self._rank(index, query, self._cache.encoder.encode([query])[0], limit)

    def _rank(self, index: _Index, query: str, vector: Vector, limit: int) -> list[Match]:
        """Rank the behaviours for `query`, whose dense vector is `vector` (runs in the executor)."""
        count = len(index.behaviors)
        cosines = index.passages @ vector
        dense = np.full(count, -1.0)
        np.maximum.at(dense, index.owner, cosines.astype(np.float64))
        lexical = self._lexical(index, query)
        if self._fusion == "rrf":
            fused = 1.0 / (RRF_K + _ranks(dense)) + 1.0 / (RRF_K + _ranks(lexical))
        else:
            fused = DENSE_WEIGHT * _normalize(dense) + (1 - DENSE_WEIGHT) * _normalize(lexical)
        confidence = DENSE_WEIGHT * np.clip(dense, 0.0, 1.0) + (1 - DENSE_WEIGHT) * (
            1.0 - np.exp(-lexical / BM25_SATURATION)
        )
        order = np.argsort(-fused, kind="stable")[:limit]
        # The best match carries its own confidence; the others scale it by their fused score, so scores
        # fall monotonically along the ranking the client sees.
        top = int(order[0])
        scale = float(confidence[top]) / float(fused[top]) if fused[top] > 0 else 0.0
        return [
            Match(index.behaviors[i].id, index.behaviors[i].title, round(min(1.0, float(fused[i]) * scale), 4))
            for i in order
        ]
