"""Owner text as the spec wants it: NFC-normalized, control characters stripped, 1 to 2,000 characters."""

from __future__ import annotations

import unicodedata

MAX_CHARS = 2000


def clean(text: str) -> str | None:
    """The cleaned text, or None when it is empty or longer than MAX_CHARS afterwards."""
    normalized = unicodedata.normalize("NFC", text)
    kept = "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else " " for c in normalized).strip()
    return kept if 1 <= len(kept) <= MAX_CHARS else None
