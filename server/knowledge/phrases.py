"""Many literal phrases as one whole-word pattern, shaped as a trie so that it stays fast.

The knowledge base has about 470 breed aliases. As one alternation (`(?<!\\w)(?:a|b|...)(?!\\w)`) the regex
engine tries every alias at every word start: issue 14's profile put a tenth of a turn's CPU there. As a
trie (`lab(?:rador(?:s|)|)`) it follows one branch per letter. It matches what the longest-first
alternation matches: at each position the longest phrase that ends at a word boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_END = ""  # the trie key that marks the end of a phrase


def _trie(phrases: Iterable[str]) -> dict[str, dict]:  # type: ignore[type-arg]
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[_END] = {}
    return root


def _regex(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    # the longer continuations first and the end of a phrase last: the engine backtracks to a shorter
    # phrase only when a longer one does not end at a word boundary
    branches = [re.escape(char) + _regex(child) for char, child in sorted(node.items()) if char != _END]
    if _END in node:
        branches.append("")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def whole_words(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every phrase of `phrases` as whole words (None when there is none); the match at a
    position is the longest phrase there."""
    unique = {p for p in phrases if p}
    if not unique:
        return None
    return re.compile(r"(?<!\w)" + _regex(_trie(unique)) + r"(?!\w)")


def at_every_start(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Like `whole_words`, as a lookahead whose group 1 is the longest phrase at each position, so that
    `finditer` also yields phrases that overlap a match found before them."""
    pattern = whole_words(phrases)
    return None if pattern is None else re.compile(r"(?=(" + pattern.pattern + "))")
