"""What an owner's message is about: a linear classifier over its character and word n-grams.

Classes are the behaviours and the non-behaviour categories (health, dog-related, off-topic, vague). It is
trained at start on the knowledge base's own texts: every title and phrasing of every behaviour (both
languages), the example messages of `triage.yaml`, and the labelled owner messages of
`owner_messages.yaml`. Character n-grams carry typos, dialect and inflection ("hopst", "buddlt", "isch");
word n-grams the situation. search.py takes the best class; for a behaviour it adds retrieval's confidence
(`FUSION_WEIGHT`) and abstains below `MATCH_FLOOR` (both calibrated by cross-validation on the owner
messages, `bench/triage.py --calibrate`). Refitted when the base changes (admin upserts and deletions).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from .loader import KnowledgeError
from .retrieval.encoder import Vectors
from .retrieval.queries import Vector
from .retrieval.weaviate_schema import passage_texts
from .triage import Category
from .types import LANGUAGES, Behavior

Examples = tuple[tuple[str, str], ...]  # (class: behaviour id or category, text)
NON_BEHAVIOUR = tuple(c.value for c in Category if c is not Category.BEHAVIOUR)
EXAMPLE_CATEGORIES = (Category.HEALTH, Category.DOG_RELATED, Category.OFF_TOPIC)  # the sections of triage.yaml
VECTOR_WEIGHT = 0.5  # the sentence vector's scale against the unit-length tf-idf blocks (module docstring)
# The vectors enter the fit as their first 128 principal components (of the training texts' vectors): all
# 512 dimensions tripled liblinear's time (about 11 s of CPU instead of 4 on 7,900 texts), 128 add about 1.5 s
# and score within 0.003 of all 512 by the same cross-validation (64: within 0.01).
VECTOR_COMPONENTS = 128


@dataclass(frozen=True)
class SentenceVectors:
    """Where the model gets sentence vectors: `training` for its training texts (the on-disk embedding
    cache), `query` for a message (the retrievers' query encoder: its recent texts are shared, so the
    search that follows finds the vector ready; None where the model is only fitted, as by `prefit`). Equal
    when `name` (the encoder's) is: fits are cached by it."""

    name: str
    training: Callable[[Sequence[str]], Vectors] = field(compare=False)
    query: Callable[[str], Awaitable[Vector]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OwnerMessage:
    """One labelled owner message: behaviour ids (one or two) or one non-behaviour category."""

    text: str
    labels: tuple[str, ...]
    lang: str


def load_examples(path: Path) -> dict[Category, list[str]]:
    """The example messages of `path`, per category, both languages together.

    Raises:
        KnowledgeError: the file is unreadable, or a category or language is missing or holds no texts.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError([f"{path.name}: unreadable ({type(exc).__name__})"]) from exc
    found: dict[Category, list[str]] = {}
    for category in EXAMPLE_CATEGORIES:
        languages = raw.get(category.value) if isinstance(raw, dict) else None
        if not isinstance(languages, dict):
            raise KnowledgeError([f"{path.name}: {category.value} is missing"])
        texts: list[str] = []
        for language in LANGUAGES:
            listed = languages.get(language)
            if not isinstance(listed, list) or not listed or not all(isinstance(t, str) and t for t in listed):
                raise KnowledgeError([f"{path.name}: {category.value}.{language} must be a non-empty list of texts"])
            texts += listed
        found[category] = texts
    return found


def load_messages(path: Path) -> list[OwnerMessage]:
    """The labelled owner messages of `path` (`items: [{text, label, lang}]`).

    Raises:
        KnowledgeError: the file is unreadable or an item is malformed.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError([f"{path.name}: unreadable ({type(exc).__name__})"]) from exc
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise KnowledgeError([f"{path.name}: items must be a non-empty list"])
    found = []
    for number, item in enumerate(items):
        label = item.get("label") if isinstance(item, dict) else None
        labels = tuple(label) if isinstance(label, list) else (label,)
        text, lang = (item.get("text"), item.get("lang")) if isinstance(item, dict) else (None, None)
        if not (isinstance(text, str) and text.strip() and lang in LANGUAGES and labels):
            raise KnowledgeError([f"{path.name}: items[{number}] needs text, label and lang (de or en)"])
        if not all(isinstance(one, str) and one for one in labels):
            raise KnowledgeError([f"{path.name}: items[{number}].label must name a behaviour or a category"])
        found.append(OwnerMessage(text, labels, lang))
    return found


def _fold(text: str) -> str:
    return text.lower().replace("ß", "ss")


@dataclass(frozen=True)
class Block:
    """One vectorizer's part of the fit: its analyzer, vocabulary and idf, and its block of the classifier's
    weights (features x classes)."""

    vectorizer: TfidfVectorizer
    weights: np.ndarray
    analyze: Callable[[str], list[str]]
    vocabulary: Mapping[str, int]
    idf: np.ndarray

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer, weights: np.ndarray) -> Block:
        idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        return cls(vectorizer, weights, vectorizer.build_analyzer(), vectorizer.vocabulary_, idf)

    def add_to(self, total: np.ndarray, text: str) -> None:
        """Add this block's part of the decision values of `text` to `total`: the text's tf-idf vector
        (sublinear tf, L2-normalized, as TfidfVectorizer makes it) times the weights."""
        counts: dict[int, int] = {}
        for term in self.analyze(text):
            index = self.vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return
        indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[indices]
        values /= np.sqrt(values @ values)
        total += values @ self.weights[indices]


@dataclass(frozen=True)
class DenseBlock:
    """The sentence vector's part of the fit: the training vectors' mean and principal components
    (dimensions x components), and the classifier's weights for the components (components x classes)."""

    mean: np.ndarray
    components: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray) -> DenseBlock:
        """The mean and components of `vectors` (texts x dimensions), weights still empty."""
        mean = vectors.mean(axis=0)
        _, _, rows = np.linalg.svd(vectors - mean, full_matrices=False)
        components = np.ascontiguousarray(rows[:VECTOR_COMPONENTS].T)
        return cls(mean, components, np.zeros((components.shape[1], 0)))

    def features(self, vectors: np.ndarray) -> np.ndarray:
        centred = np.asarray(vectors, dtype=np.float64) - self.mean
        projected: np.ndarray = VECTOR_WEIGHT * (centred @ self.components)
        return projected

    def add_to(self, total: np.ndarray, vector: Vector) -> None:
        total += self.features(vector) @ self.weights


@dataclass(frozen=True)
class Fitted:
    """The vectorizers' blocks (character n-grams within words, then word uni- and bigrams), the sentence
    vector's block (`DenseBlock`, None when fitted without vectors) and the intercepts. A message
    is scored by the blocks' own arithmetic, not by scikit-learn's transform, whose per-call checks cost
    four times the arithmetic (issue 14's profile; tests/knowledge check both agree)."""

    blocks: tuple[Block, ...]
    dense: DenseBlock | None
    intercept: np.ndarray
    classes: tuple[str, ...]

    def values(self, text: str, vector: Vector | None = None) -> np.ndarray:
        """The decision value of every class; `vector` (the text's sentence vector) is needed when the fit
        has dense weights.

        Raises:
            ValueError: the fit has dense weights and `vector` is None.
        """
        total = self.intercept.copy()
        for block in self.blocks:
            block.add_to(total, text)
        if self.dense is not None:
            if vector is None:
                raise ValueError("this fit needs the message's sentence vector")
            self.dense.add_to(total, vector)
        return total


@functools.lru_cache(maxsize=8)  # servers of one process (tests, reloads) share a fit per base
def _fit(examples: Examples, vectors: SentenceVectors | None = None) -> Fitted:
    vectorizers = (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=_fold),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=_fold),
    )
    texts = [text for _, text in examples]
    matrices = [vectorizer.fit_transform(texts) for vectorizer in vectorizers]
    dense = None
    if vectors is not None:
        embedded = np.asarray(vectors.training(texts), dtype=np.float64)
        dense = DenseBlock.of(embedded)
        matrices.append(scipy.sparse.csr_matrix(dense.features(embedded)))
    classifier = LinearSVC(C=1.0).fit(scipy.sparse.hstack(matrices).tocsr(), [owner for owner, _ in examples])
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    classes = tuple(str(owner) for owner in classifier.classes_)
    if len(classes) == 2:  # one decision value, positive for the second class: make it one per class
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    edges = list(itertools.pairwise(np.cumsum([0, *(matrix.shape[1] for matrix in matrices)])))
    blocks = tuple(
        Block.of(vectorizer, np.ascontiguousarray(coef[:, a:b].T))
        for vectorizer, (a, b) in zip(vectorizers, edges[: len(vectorizers)], strict=True)
    )
    if dense is not None:
        dense = dataclasses.replace(dense, weights=np.ascontiguousarray(coef[:, edges[len(vectorizers)][0] :].T))
    return Fitted(blocks, dense, intercept, classes)


def examples_of(
    behaviors: Mapping[str, Behavior],
    categories: Mapping[Category, Sequence[str]] = {},
    messages: Sequence[OwnerMessage] = (),
) -> Examples:
    """The training examples, in a stable order: every title and phrasing of `behaviors` (both languages),
    the example messages per category, and each owner message once per label it carries (labels naming a
    behaviour the base no longer has are left out)."""
    examples = [(b.id, text) for b in sorted(behaviors.values(), key=lambda b: b.id) for text in passage_texts(b)]
    examples += [(category.value, text) for category, texts in categories.items() for text in texts]
    examples += [
        (label, m.text) for m in messages for label in m.labels if label in behaviors or label in NON_BEHAVIOUR
    ]
    return tuple(examples)


def prefit(
    behaviors: Mapping[str, Behavior],
    categories: Mapping[Category, Sequence[str]],
    messages: Sequence[OwnerMessage],
    vectors: SentenceVectors | None = None,
) -> None:
    """Fit for these examples into this process's fit cache (blocking): a MessageModel built later on the
    same examples and the same encoder finds the fit instead of repeating it."""
    examples = examples_of(behaviors, categories, messages)
    if len({owner for owner, _ in examples}) > 1:
        _fit(examples, vectors)


class MessageModel:
    """`behaviors` gives the current behaviours (refitted when the base changes); `categories` the example
    messages per category; `messages` the labelled owner messages; `vectors` the sentence vectors (None:
    n-grams only); `executor` runs the fit and the predictions (CPU work, off the event loop)."""

    def __init__(
        self,
        behaviors: Callable[[], Mapping[str, Behavior]],
        executor: Executor,
        *,
        categories: Mapping[Category, Sequence[str]] | None = None,
        messages: Sequence[OwnerMessage] = (),
        vectors: SentenceVectors | None = None,
    ) -> None:
        self._behaviors = behaviors
        self._executor = executor
        self._vectors = vectors
        self._categories = dict(categories or {})
        self._messages = tuple(messages)
        self._lock = threading.Lock()
        self._seen: Mapping[str, Behavior] | None = None
        self._fitted: Fitted | None = None

    def _model(self) -> Fitted | None:
        current = self._behaviors()
        with self._lock:
            if current is not self._seen:
                examples = examples_of(current, self._categories, self._messages)
                classes = {owner for owner, _ in examples}
                self._fitted = _fit(examples, self._vectors) if len(classes) > 1 else None  # an SVM needs two classes
                self._seen = current
            return self._fitted

    @property
    def vectors(self) -> SentenceVectors | None:
        return self._vectors

    def warm(self) -> None:
        """Fit for the current base now (blocking: run it in the executor at start)."""
        self._model()

    def scores_sync(self, text: str, vector: Vector | None = None) -> dict[str, float]:
        """The decision value of every class for `text`, whose sentence vector is `vector` (needed when the
        model has `vectors`; blocking; empty when nothing is fitted)."""
        fitted = self._model()
        if fitted is None:
            return {}
        return {owner: float(v) for owner, v in zip(fitted.classes, fitted.values(text, vector), strict=True)}

    async def scores(self, text: str) -> dict[str, float]:
        query = None if self._vectors is None else self._vectors.query
        vector = None if query is None else await query(text)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.scores_sync, text, vector)
