"""What the Weaviate backend stores: one collection, one object per passage of a behaviour.

A passage is a behaviour's title or one of its owner phrasings; its vector is that text's embedding
from our encoder (`vector_config` is self-provided, so Weaviate needs no vectorizer module). Every
passage of a behaviour carries the same `terms`: the behaviour's whole text (title, phrasings, dog
view) stemmed and stripped of stop words the way the embedded backend does it, because Weaviate has
no German stemmer; BM25 runs on `terms` with whitespace tokenization, so both backends see the same
lexical tokens. Object ids are UUIDv5 of (behaviour id, passage number), so a reload overwrites.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import Stemmer
from weaviate.classes.config import DataType, Property, Tokenization

from server.knowledge.types import Behavior

COLLECTION = "WuffchatPassage"
_NAMESPACE = uuid.UUID("6f1c7d0e-5b1a-4c8e-9a57-3f0f1d2b7c11")

# behavior_id and revision are filter keys (one token each); title is returned, never searched.
PROPERTIES = (
    Property(name="behavior_id", data_type=DataType.TEXT, tokenization=Tokenization.FIELD, index_searchable=False),
    Property(name="title", data_type=DataType.TEXT, index_filterable=False, index_searchable=False),
    Property(name="terms", data_type=DataType.TEXT, tokenization=Tokenization.WHITESPACE),
    Property(name="revision", data_type=DataType.TEXT, tokenization=Tokenization.FIELD, index_searchable=False),
)


@dataclass(frozen=True)
class Passage:
    """One object to store; `text` is what gets embedded."""

    uuid: uuid.UUID
    behavior_id: str
    title: str
    text: str
    terms: str


class GermanTerms:
    """Stemmed German tokens without stop words, joined by spaces (the same tokens as the embedded BM25).

    Called from the retrieval executor's threads; a PyStemmer stemmer is not thread-safe, so each
    thread gets its own.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, texts: Sequence[str]) -> list[str]:
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer("german")
        tokens = bm25s.tokenize(list(texts), stopwords="de", stemmer=stemmer, return_ids=False, show_progress=False)
        return [" ".join(words) for words in tokens]


def passages(behaviors: Sequence[Behavior], terms: GermanTerms) -> list[Passage]:
    """The passages of `behaviors`, in order (title first, then each phrasing)."""
    documents = terms([" ".join((b.title, *b.phrasings, b.dog_view)) for b in behaviors])
    return [
        Passage(uuid.uuid5(_NAMESPACE, f"{behavior.id}#{number}"), behavior.id, behavior.title, text, document)
        for behavior, document in zip(behaviors, documents, strict=True)
        for number, text in enumerate((behavior.title, *behavior.phrasings))
    ]
