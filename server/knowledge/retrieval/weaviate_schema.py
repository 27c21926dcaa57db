"""What the Weaviate backend stores: one collection, one object per passage of a behaviour.

A passage is a behaviour's title or one of its owner phrasings; its vector is that text's embedding
from our encoder (`vector_config` is self-provided, so Weaviate needs no vectorizer module). Every
passage of a behaviour carries the same `terms`: the behaviour's whole German text (title, phrasings,
dog view) stemmed as German and its English text stemmed as English, stripped of stop words the way the
embedded backend does it, because Weaviate has no German stemmer; BM25 runs on `terms` with
whitespace tokenization, so both backends see the same lexical tokens. Passages come in both languages.
Object ids are UUIDv5 of (behaviour id, passage number), so a reload overwrites.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import Stemmer
from weaviate.classes.config import DataType, Property, Tokenization

from server.knowledge.types import Behavior

from .lexicon import Lexicon, lexicons

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


STEMMERS = {"de": "german", "en": "english"}


class StemmedTerms:
    """Stemmed tokens of one language without its stop words, joined by spaces (the embedded BM25's tokens).

    Called from the retrieval executor's threads; a PyStemmer stemmer is not thread-safe, so each
    thread gets its own.
    """

    def __init__(self, language: str = "de") -> None:
        self._language = language
        self._local = threading.local()

    def tokenize(self, texts: Sequence[str], *, return_ids: bool = False) -> Any:
        """bm25s tokens of `texts` (ids and vocabulary, or lists of strings without `return_ids`)."""
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer(STEMMERS[self._language])
        return bm25s.tokenize(
            list(texts), stopwords=self._language, stemmer=stemmer, return_ids=return_ids, show_progress=False
        )

    def __call__(self, texts: Sequence[str]) -> list[str]:
        return [" ".join(words) for words in self.tokenize(texts)]


class BilingualTerms:
    """German terms of the German text followed by English terms of the English text; `passages` teaches it
    the lexicons of the behaviours it stored (as the embedded backend's index does)."""

    def __init__(self) -> None:
        self.de, self.en = StemmedTerms("de"), StemmedTerms("en")
        self.lexicons: dict[str, Lexicon] = {}

    def query(self, text: str) -> str:
        """A query in either language: normalized and stemmed both ways, so it meets the terms of either."""
        de, en = (self.lexicons[lang].normalize(text) if lang in self.lexicons else text for lang in ("de", "en"))
        return f"{self.de([de])[0]} {self.en([en])[0]}".strip()


def document(behavior: Behavior, language: str) -> str:
    """The text BM25 indexes for a behaviour in one language: title, owner phrasings, the dog's view."""
    text = behavior.text(language)
    return " ".join((text.title, *text.phrasings, text.dog_view))


def passage_texts(behavior: Behavior) -> list[str]:
    """What gets embedded: the titles and phrasings of both languages (English only when present)."""
    texts = [behavior.title, *behavior.phrasings]
    if behavior.en is not None:
        texts += [behavior.en.title, *behavior.en.phrasings]
    return texts


def passages(behaviors: Sequence[Behavior], terms: BilingualTerms) -> list[Passage]:
    """The passages of `behaviors`, in order (German title and phrasings, then the English ones)."""
    documents = {
        "de": [document(b, "de") for b in behaviors],
        "en": [document(b, "en") if b.en is not None else "" for b in behaviors],
    }
    terms.lexicons = lexicons(documents)
    german = terms.de([terms.lexicons["de"].document(d) for d in documents["de"]])
    english = terms.en([terms.lexicons["en"].document(d) for d in documents["en"]])
    return [
        Passage(
            uuid.uuid5(_NAMESPACE, f"{behavior.id}#{number}"), behavior.id, behavior.title, text, f"{de} {en}".strip()
        )
        for behavior, de, en in zip(behaviors, german, english, strict=True)
        for number, text in enumerate(passage_texts(behavior))
    ]
