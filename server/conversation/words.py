"""Yes, no and restart recognized as whole words or phrases, German and English ("Jagd" is not "ja")."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

YES = (
    "ja",
    "jo",
    "jap",
    "jep",
    "jawohl",
    "klar",
    "gerne",
    "gern",
    "genau",
    "sicher",
    "auf jeden fall",
    "natürlich",
    "okay",
    "ok",
    "yes",
    "yeah",
    "yep",
    "sure",
    "of course",
    "please",
    "bitte",
)
NO = (
    "nein",
    "nee",
    "ne",
    "nö",
    "nope",
    "no",
    "lieber nicht",
    "nicht nötig",
    "kein bedarf",
    "danke nein",
    "no thanks",
    "not now",
    "nah",
    "eher nicht",
)
RESTART = ("neu", "neustart", "restart", "von vorne", "von vorn", "reset", "start over", "new")


class Intent(Enum):
    YES = "yes"
    NO = "no"
    RESTART = "restart"
    OTHER = "other"


def _phrase(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")


_YES, _NO, _RESTART = _phrase(YES), _phrase(NO), _phrase(RESTART)
MAX_COMMAND_WORDS = 4  # "neu" inside a long description is part of the story, not a command


def normalize(text: str) -> str:
    """NFC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def intent(text: str) -> Intent:
    """The intent of a short answer: restart wins, then no (so "ja, lieber nicht" is no), then yes."""
    norm = normalize(text)
    short = len(norm.split()) <= MAX_COMMAND_WORDS
    if short and _RESTART.search(norm):
        return Intent.RESTART
    if _NO.search(norm):
        return Intent.NO
    if _YES.search(norm):
        return Intent.YES
    return Intent.OTHER
