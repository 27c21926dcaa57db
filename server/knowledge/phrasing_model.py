"""A second ranking of the behaviours: a linear classifier over the character and word n-grams of their
phrasings.

Retrieval compares a message with each phrasing; owners write the same behaviour in new words, dialect and
typos ("hopst jedem an die brust"), where a whole-sentence embedding or BM25 often ranks a neighbour first.
A linear SVM trained on all phrasings of all behaviours at once learns which n-grams tell one behaviour from
its neighbours. search.py adds its decision values, weighted by `FUSION_WEIGHT` (calibrated with
`bench/triage.py --calibrate`, tuning part only), to the scores of retrieval's best candidates: the model
reorders them, it never makes a match on its own (retrieval's confidence still decides whether to abstain).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from .retrieval.weaviate_schema import passage_texts
from .types import Behavior

Examples = tuple[tuple[str, str], ...]  # (behaviour id, phrasing)


def _fold(text: str) -> str:
    return text.lower().replace("ß", "ss")


@dataclass(frozen=True)
class Fitted:
    """The vectorizers (character n-grams within words, then word uni- and bigrams) and, per vectorizer,
    its block of the classifier's weights (features x behaviours), so a message is scored without
    scikit-learn's per-call checks (about 0.2 instead of 1.5 ms)."""

    vectorizers: tuple[TfidfVectorizer, ...]
    weights: tuple[np.ndarray, ...]
    intercept: np.ndarray
    owners: tuple[str, ...]

    def values(self, text: str) -> np.ndarray:
        total = self.intercept.copy()
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            for vectorizer, weights in zip(self.vectorizers, self.weights, strict=True):
                total += scipy.sparse.csr_matrix(vectorizer.transform([text])) @ weights
        return total.ravel()


@functools.lru_cache(maxsize=4)  # servers of one process (tests, workers' reloads) share a fit per base
def _fit(examples: Examples) -> Fitted:
    vectorizers = (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=_fold),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=_fold),
    )
    texts = [text for _, text in examples]
    blocks = [vectorizer.fit_transform(texts) for vectorizer in vectorizers]
    classifier = LinearSVC(C=1.0).fit(scipy.sparse.hstack(blocks).tocsr(), [owner for owner, _ in examples])
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    owners = tuple(str(owner) for owner in classifier.classes_)
    if len(owners) == 2:  # one decision value, positive for the second class: make it one per class
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    edges = np.cumsum([0, *(block.shape[1] for block in blocks)])
    weights = tuple(np.ascontiguousarray(coef[:, a:b].T) for a, b in itertools.pairwise(edges))
    return Fitted(vectorizers, weights, intercept.reshape(1, -1), owners)


def examples_of(behaviors: Mapping[str, Behavior]) -> Examples:
    """Every title and phrasing of `behaviors` (both languages) with its behaviour id, in a stable order."""
    return tuple((b.id, text) for b in sorted(behaviors.values(), key=lambda b: b.id) for text in passage_texts(b))


class PhrasingModel:
    """`behaviors` gives the current behaviours (refitted when the base changes); `executor` runs the fit and
    the predictions (CPU work, off the event loop)."""

    def __init__(self, behaviors: Callable[[], Mapping[str, Behavior]], executor: Executor) -> None:
        self._behaviors = behaviors
        self._executor = executor
        self._lock = threading.Lock()
        self._seen: Mapping[str, Behavior] | None = None
        self._fitted: Fitted | None = None

    def _model(self) -> Fitted | None:
        current = self._behaviors()
        with self._lock:
            if current is not self._seen:
                examples = examples_of(current)
                owners = {owner for owner, _ in examples}
                self._fitted = _fit(examples) if len(owners) > 1 else None  # an SVM needs two classes
                self._seen = current
            return self._fitted

    def warm(self) -> None:
        """Fit for the current base now (blocking: run it in the executor at start)."""
        self._model()

    def scores_sync(self, text: str) -> dict[str, float]:
        """The decision value of every behaviour for `text` (blocking; empty when nothing is fitted)."""
        fitted = self._model()
        if fitted is None:
            return {}
        return {owner: float(v) for owner, v in zip(fitted.owners, fitted.values(text), strict=True)}

    async def scores(self, text: str) -> dict[str, float]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.scores_sync, text)
