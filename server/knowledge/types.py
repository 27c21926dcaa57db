"""The knowledge base as typed, immutable values: behaviours, instincts, exercises, breed groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

INSTINCTS: tuple[str, ...] = ("jagd", "rudel", "territorial", "sexual")


@dataclass(frozen=True)
class Behavior:
    """One problem behaviour; `instincts` and `instinct_weights` have exactly the four INSTINCTS keys."""

    id: str
    title: str
    phrasings: tuple[str, ...]
    dog_view: str
    instincts: Mapping[str, str]
    instinct_weights: Mapping[str, int]
    first_aid: str
    exercises: tuple[str, ...]


@dataclass(frozen=True)
class Instinct:
    id: str
    name: str
    description: str
    dog_voice: str


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    instincts: tuple[str, ...]
    background: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class BreedGroup:
    id: str
    name: str
    instincts: Mapping[str, int]
    breeds: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated snapshot; replaced as a whole when a behaviour is upserted or deleted."""

    behaviors: Mapping[str, Behavior]
    instincts: Mapping[str, Instinct]
    exercises: Mapping[str, Exercise]
    breed_groups: tuple[BreedGroup, ...] = field(default_factory=tuple)
