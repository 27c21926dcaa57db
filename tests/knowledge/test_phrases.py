"""The trie pattern of many phrases matches what the plain longest-first alternation matches."""

from __future__ import annotations

import re

from server.knowledge import phrases

PHRASES = ["lab", "labrador", "labradors", "jack russell", "jack russell terrier", "parson jack russell", "pudel"]
TEXTS = [
    "Unser Labrador zieht",
    "my labradors and a lab",
    "ein laborhund",  # no whole word
    "the parson jack russell terrier barks",  # two phrases overlap
    "pudelmix und pudel-mix",
    "jack russell-terrier",
    "",
]


def _alternation(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered) + r")(?!\w)")


def test_the_trie_finds_and_replaces_what_the_alternation_does() -> None:
    trie, plain = phrases.whole_words(PHRASES), _alternation(PHRASES)
    assert trie is not None
    for text in TEXTS:
        assert [m.group(0) for m in trie.finditer(text.lower())] == [m.group(0) for m in plain.finditer(text.lower())]
        assert trie.sub(" ", text.lower()) == plain.sub(" ", text.lower())


def test_at_every_start_yields_overlapping_phrases_longest_first() -> None:
    pattern = phrases.at_every_start(PHRASES)
    assert pattern is not None
    found = [m.group(1) for m in pattern.finditer("the parson jack russell terrier barks")]
    assert found == ["parson jack russell", "jack russell terrier"]


def test_no_phrase_gives_no_pattern() -> None:
    assert phrases.whole_words([]) is None
    assert phrases.at_every_start([""]) is None
