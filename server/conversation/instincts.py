"""Rank the four instincts for one behaviour, the owner's context and (if named) the breed group."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from server.knowledge.types import INSTINCTS, Behavior, BreedGroup, Exercise, KnowledgeBase

# Context words that point at one instinct (German and English stems, matched at word starts).
CUES: dict[str, tuple[str, ...]] = {
    "jagd": (
        "wild",
        "reh",
        "hase",
        "kaninchen",
        "katze",
        "vogel",
        "spur",
        "fährte",
        "wald",
        "feld",
        "maus",
        "bewegung",
        "jogger",
        "fahrrad",
        "radfahrer",
        "ball",
        "hunt",
        "deer",
        "rabbit",
        "cat",
        "squirrel",
        "bird",
        "woods",
        "field",
        "cyclist",
        "bike",
    ),
    "rudel": (
        "allein",
        "familie",
        "kind",
        "besuch",
        "begrüß",
        "andere hunde",
        "spiel",
        "aufmerksamkeit",
        "nähe",
        "alone",
        "family",
        "attention",
        "play",
        "other dogs",
        "leave",
        "greet",
        "child",
        "kids",
    ),
    "territorial": (
        "tür",
        "klingel",
        "garten",
        "zaun",
        "haus",
        "wohnung",
        "auto",
        "sofa",
        "bett",
        "platz",
        "fremde",
        "postbote",
        "paketbote",
        "door",
        "garden",
        "fence",
        "home",
        "stranger",
        "postman",
        "mail carrier",
        "yard",
        "couch",
        "bed",
    ),
    # The dog's own sex is no cue ("unser Rüde bellt an der Tür"); heat, hormones and neutering are.
    "sexual": ("läufig", "kastr", "pubertät", "hormon", "duft", "heat", "in season", "neuter", "intact", "hormone"),
}
CUE_POINTS = 8
BREED_SHARE = 0.4  # how much a named breed's disposition counts against the behaviour's own weights
MIX_SHARE = 0.2  # a mix carries only part of its named breed's disposition


@dataclass(frozen=True)
class Ranking:
    """Instincts best first, with scores."""

    order: tuple[str, ...]
    scores: dict[str, float]


@functools.lru_cache(maxsize=4096)
def _word_start(cue: str) -> re.Pattern[str]:
    """`cue` at the start of a word, compiled once (`re`'s cache of 512 is too small beside the breed aliases)."""
    return re.compile(rf"(?<!\w){re.escape(cue)}")


def rank(behavior: Behavior, context: str, breed: BreedGroup | None = None, *, mix: bool = False) -> Ranking:
    """Behaviour weights, mixed with the breed group's disposition, plus points for context cues."""
    lowered = context.lower()
    share = MIX_SHARE if mix else BREED_SHARE
    scores: dict[str, float] = {}
    for instinct in INSTINCTS:
        score = float(behavior.instinct_weights[instinct])
        if breed is not None:
            score = (1 - share) * score + share * breed.instincts[instinct]
        hits = sum(1 for cue in CUES[instinct] if _word_start(cue).search(lowered))
        scores[instinct] = score + CUE_POINTS * hits
    order = tuple(sorted(INSTINCTS, key=lambda i: (-scores[i], INSTINCTS.index(i))))
    return Ranking(order=order, scores=scores)


def best_exercise(behavior: Behavior, base: KnowledgeBase, age: str | None = None) -> Exercise:
    """The behaviour's best-ranked exercise that fits the dog's age: the knowledge base lists them best
    fit first; when none fits the age, the first one."""
    listed = [base.exercises[e] for e in behavior.exercises if e in base.exercises]
    return next((e for e in listed if e.fits(age)), listed[0])
