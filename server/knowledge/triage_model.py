"""A second opinion on what a message is about: its nearest example messages by sentence embedding.

The word lists of triage.py know the signs they were written for; owners find other words ("he had a
fit this morning", "Wie alt werden Berner Sennenhunde?"). This model compares a message with example
messages per category (data/knowledge/triage.yaml: health signs, dog questions that are no behaviour,
off-topic, in German and English) and with the behaviours' own phrasings, by the mean cosine of the
`NEIGHBOURS` nearest of each. search.py takes its category only when it leads the behaviour side by a
calibrated margin (`bench/triage.py --calibrate`), so behaviour descriptions keep going to retrieval.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .loader import KnowledgeError
from .retrieval.cache import EmbeddingCache
from .retrieval.encoder import Vectors
from .retrieval.queries import QueryEncoder, Vector
from .retrieval.weaviate_schema import passage_texts
from .triage import Category
from .types import LANGUAGES, Behavior

NEIGHBOURS = 3  # nearest examples per category whose cosines are averaged
EXAMPLE_CATEGORIES = (Category.HEALTH, Category.DOG_RELATED, Category.OFF_TOPIC)


@dataclass(frozen=True)
class Opinion:
    """The nearest category, how far its similarity is ahead of the behaviour side's (<= 0: behaviour),
    and the behaviour whose phrasing is nearest."""

    category: Category
    lead: float
    nearest: str | None = None


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


def _nearest_mean(similarities: Vectors) -> float:
    if similarities.size == 0:
        return -1.0
    count = min(NEIGHBOURS, similarities.size)
    return float(np.mean(np.partition(similarities, -count)[-count:]))


class TriageModel:
    """`cache` embeds the examples and phrasings; `queries` gives a message's vector (the retriever's own,
    so a message is encoded once); `examples` per category; `behaviors` gives the current behaviours
    (their phrasings are the behaviour side, re-embedded when the base changes); `executor` runs the
    comparisons."""

    def __init__(
        self,
        cache: EmbeddingCache,
        queries: QueryEncoder,
        examples: Mapping[Category, Sequence[str]],
        behaviors: Callable[[], Mapping[str, Behavior]],
        executor: Executor,
    ) -> None:
        self._cache = cache
        self._queries = queries
        self._examples = {category: cache.embed(texts) for category, texts in examples.items()}
        self._behaviors = behaviors
        self._executor = executor
        self._lock = threading.Lock()
        self._seen: Mapping[str, Behavior] | None = None
        self._behaviour_vectors: Vectors = np.zeros((0, 512), dtype=np.float32)
        self._owners: list[str] = []  # behaviour id of each row of _behaviour_vectors

    def _behaviour_side(self) -> tuple[Vectors, list[str]]:
        current = self._behaviors()
        with self._lock:
            if current is not self._seen:
                pairs = [(b.id, t) for b in current.values() for t in passage_texts(b)]
                self._behaviour_vectors = self._cache.embed([t for _, t in pairs])
                self._owners = [owner for owner, _ in pairs]
                self._seen = current
            return self._behaviour_vectors, self._owners

    def opinion_sync(self, vector: Vector) -> Opinion:
        """The blocking opinion on a message's `vector` (runs in the executor)."""
        vectors, owners = self._behaviour_side()
        similarities = vectors @ vector
        behaviour = _nearest_mean(similarities)
        nearest = owners[int(np.argmax(similarities))] if owners else None
        scores = {category: _nearest_mean(v @ vector) for category, v in self._examples.items()}
        best = max(scores, key=lambda c: scores[c])
        category = Category.BEHAVIOUR if scores[best] <= behaviour else best
        return Opinion(category, scores[best] - behaviour, nearest)

    async def opinion(self, text: str) -> Opinion:
        vector = await self._queries.vector(text)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.opinion_sync, vector)
