"""Every bot text comes from texts/<language>.yaml: each key holds one or more phrasings.

`pick` returns a phrasing of a key not yet used in this conversation (the used ones are kept in the
conversation's slots), so a line the bot says again comes out differently; only after every phrasing
of a key was used does the least recently used one return. Lines said at most once per round
(ONCE) may have a single phrasing; every other key has at least three (a test holds this).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("de", "en")
DIRECTORY = Path(__file__).with_name("texts")
# Said at most once per conversation round, so one phrasing cannot repeat.
ONCE = frozenset(
    {
        "greeting",
        "ask_context_both",
        "ask_context_age",
        "ask_context_breed",
        "age_note_puppy",
        "age_note_adolescent",
        "age_note_senior",
        "feedback_q2",
        "feedback_q4",
        "feedback_q5",
        "instinct_name_jagd",
        "instinct_name_rudel",
        "instinct_name_territorial",
        "instinct_name_sexual",
    }
)
MIN_PHRASINGS = 3


@functools.cache
def _load(language: str) -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load((DIRECTORY / f"{language}.yaml").read_text(encoding="utf-8"))
    return {str(k): tuple(" ".join(str(v).split()) for v in values) for k, values in data.items()}


def keys(language: str) -> frozenset[str]:
    return frozenset(_load(language))


def phrasings(language: str, key: str) -> tuple[str, ...]:
    """All phrasings of `key` in `language` ("de" for anything else).

    Raises:
        KeyError: the key is missing (a test guarantees both files have every key).
    """
    return _load(language if language in LANGUAGES else "de")[key]


def text(language: str, key: str, **params: object) -> str:
    """The first phrasing of `key`, formatted (for lines that need no variation)."""
    return phrasings(language, key)[0].format(**params)


def pick(language: str, key: str, used: dict[str, Any], **params: object) -> str:
    """A phrasing of `key` not yet in `used[key]` (indices, oldest first), recorded there; formatted."""
    options = phrasings(language, key)
    history: list[int] = [i for i in used.get(key, []) if isinstance(i, int) and 0 <= i < len(options)]
    fresh = [i for i in range(len(options)) if i not in history]
    choice = fresh[0] if fresh else history[0]
    used[key] = [*[i for i in history if i != choice], choice]
    return options[choice].format(**params)
