"""Rank the four instincts for one behaviour, the owner's context and (if named) the breed."""

from __future__ import annotations

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
    ),
    "rudel": (
        "allein",
        "weg",
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
    ),
    "sexual": ("läufig", "hündin", "rüde", "kastr", "pubertät", "duft", "heat", "female", "male", "neuter"),
}
CUE_POINTS = 8
BREED_SHARE = 0.4  # how much a named breed's disposition counts against the behaviour's own weights


@dataclass(frozen=True)
class Ranking:
    """Instincts best first, with scores; `breed` is the breed group the owner named, if any."""

    order: tuple[str, ...]
    scores: dict[str, float]
    breed: BreedGroup | None


def find_breed(text: str, groups: tuple[BreedGroup, ...]) -> BreedGroup | None:
    """The breed group whose alias (whole word or phrase) appears in `text`, the longest alias winning."""
    lowered = text.lower()
    best: tuple[int, BreedGroup] | None = None
    for group in groups:
        for alias in group.aliases:
            if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", lowered) and (best is None or len(alias) > best[0]):
                best = (len(alias), group)
    return best[1] if best else None


def rank(behavior: Behavior, context: str, base: KnowledgeBase) -> Ranking:
    """Behaviour weights, mixed with the named breed's disposition, plus points for context cues."""
    breed = find_breed(context, base.breed_groups)
    lowered = context.lower()
    scores: dict[str, float] = {}
    for instinct in INSTINCTS:
        score = float(behavior.instinct_weights[instinct])
        if breed is not None:
            score = (1 - BREED_SHARE) * score + BREED_SHARE * breed.instincts[instinct]
        hits = sum(1 for cue in CUES[instinct] if re.search(rf"(?<!\w){re.escape(cue)}", lowered))
        scores[instinct] = score + CUE_POINTS * hits
    order = tuple(sorted(INSTINCTS, key=lambda i: (-scores[i], INSTINCTS.index(i))))
    return Ranking(order=order, scores=scores, breed=breed)


def best_exercise(behavior: Behavior, instinct: str, base: KnowledgeBase) -> Exercise:
    """The behaviour's first exercise that serves `instinct`, else its first exercise."""
    exercises = [base.exercises[e] for e in behavior.exercises if e in base.exercises]
    for exercise in exercises:
        if instinct in exercise.instincts:
            return exercise
    return exercises[0]
