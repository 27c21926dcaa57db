"""Dialect and chat words read as standard German before a message is sorted and searched.

Owners write "Dä Hungk blaff jede aan" or "er chunnt nöd, wenn i rüef". The sentence encoder and the
retrieval index know standard German, and the message model's n-grams only know the dialect forms its
training lines happened to hold. `data/knowledge/dialect.yaml` maps single dialect tokens (Swiss,
Bavarian and Austrian, Swabian, Kölsch, Low German, Berlin, Saxon, chat spellings) to standard words;
`Dialect.standard` replaces every token it knows and leaves everything else as it was. The lexicon holds
no token that is also a standard German or English word with another meaning ("op", "he", "do"), so a
standard message comes back unchanged. KnowledgeSearch reads the query this way, the message model its
training texts, so both sides of the fit see the same words; what the owner wrote is stored and quoted
as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .loader import KnowledgeError

_APOSTROPHES = "'\u2019"  # typed and typographic
_TOKEN = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_APOSTROPHE = re.compile(rf"([{_APOSTROPHES}])")


@dataclass(frozen=True)
class Dialect:
    """`words`: lowercase dialect token -> its standard German replacement (one or more words)."""

    words: Mapping[str, str]

    def standard(self, text: str) -> str:
        """`text` with every known dialect token replaced (lowercase); other tokens and spacing untouched."""
        if not self.words:
            return text
        return _TOKEN.sub(self._replace, text)

    def _replace(self, found: re.Match[str]) -> str:
        token = found.group(0)
        replacement = self.words.get(token.lower())
        if replacement is not None:
            return replacement
        if not any(mark in token for mark in _APOSTROPHES):
            return token
        # "d'Huustür", "hat's": each part on its own, the apostrophe kept
        return "".join(self.words.get(part.lower(), part) for part in _APOSTROPHE.split(token))


NONE = Dialect({})


def load_dialect(path: Path) -> Dialect:
    """The lexicon at `path` (a YAML mapping of dialect token to standard words).

    Raises:
        KnowledgeError: the file is unreadable, not a mapping, or a key is not a single lowercase token.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError([f"{path.name}: unreadable ({type(exc).__name__})"]) from exc
    if not isinstance(raw, dict) or not raw:
        raise KnowledgeError([f"{path.name}: must map dialect words to standard German"])
    wrong = [
        str(key)
        for key, value in raw.items()
        if not (isinstance(key, str) and isinstance(value, str) and value.strip())
        or _TOKEN.fullmatch(key) is None
        or key != key.lower()
    ]
    if wrong:
        raise KnowledgeError([f"{path.name}: not a single lowercase token with a replacement: {', '.join(wrong[:5])}"])
    return Dialect({key: value.strip().lower() for key, value in raw.items()})
