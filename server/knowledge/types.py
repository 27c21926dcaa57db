"""The knowledge base as typed, immutable values: behaviours, instincts, exercises, breed groups.

Every text exists in German (the top-level fields, the default language) and English (`en`);
`text(language)` picks one. A behaviour's `variants` are sentences that fit only some dogs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

INSTINCTS: tuple[str, ...] = ("jagd", "rudel", "territorial", "sexual")
LANGUAGES: tuple[str, ...] = ("de", "en")
PROFILE_VALUES: Mapping[str, tuple[str, ...]] = {
    "age": ("puppy", "adolescent", "adult", "senior"),
    "sex": ("female", "male"),
    "place": ("flat", "house", "garden", "walk", "car"),
}
VARIANT_PARTS: tuple[str, ...] = ("dog_view", "first_aid", *INSTINCTS)


@dataclass(frozen=True)
class BehaviorText:
    """One language's texts of a behaviour; `instincts` has exactly the four INSTINCTS keys."""

    title: str
    phrasings: tuple[str, ...]
    dog_view: str
    instincts: Mapping[str, str]
    first_aid: str


@dataclass(frozen=True)
class Variant:
    """A sentence added to `part` ("dog_view", "first_aid" or an instinct) when every `when` entry holds."""

    when: Mapping[str, str]
    part: str
    texts: Mapping[str, str]  # language -> sentence

    def applies(self, profile: Mapping[str, str]) -> bool:
        return all(profile.get(key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class Behavior:
    """One problem behaviour; the top-level texts are German, `en` the English ones."""

    id: str
    title: str
    phrasings: tuple[str, ...]
    dog_view: str
    instincts: Mapping[str, str]
    instinct_weights: Mapping[str, int]
    first_aid: str
    exercises: tuple[str, ...]
    en: BehaviorText | None = None
    variants: tuple[Variant, ...] = ()

    def text(self, language: str) -> BehaviorText:
        """The texts in `language`; German for "de" and for a behaviour without English."""
        if language == "en" and self.en is not None:
            return self.en
        return BehaviorText(self.title, self.phrasings, self.dog_view, self.instincts, self.first_aid)


@dataclass(frozen=True)
class InstinctText:
    name: str
    description: str
    dog_voice: str


@dataclass(frozen=True)
class Instinct:
    id: str
    name: str
    description: str
    dog_voice: str
    en: InstinctText | None = None

    def text(self, language: str) -> InstinctText:
        if language == "en" and self.en is not None:
            return self.en
        return InstinctText(self.name, self.description, self.dog_voice)


@dataclass(frozen=True)
class ExerciseText:
    title: str
    background: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    instincts: tuple[str, ...]
    background: str
    steps: tuple[str, ...]
    en: ExerciseText | None = None
    ages: tuple[str, ...] = ()  # the age classes it is written for; empty: every dog

    def fits(self, age: str | None) -> bool:
        """True unless the exercise is for other ages than the dog's (an unknown age fits everything)."""
        return not self.ages or age is None or age in self.ages

    def text(self, language: str) -> ExerciseText:
        if language == "en" and self.en is not None:
            return self.en
        return ExerciseText(self.title, self.background, self.steps)


@dataclass(frozen=True)
class BreedGroup:
    """`names` and `notes` are per language; a note is the dog's one sentence about its group's disposition."""

    id: str
    name: str
    instincts: Mapping[str, int]
    breeds: tuple[str, ...]
    aliases: tuple[str, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def leading(self) -> str:
        """The instinct this group is most disposed to."""
        return max(INSTINCTS, key=lambda i: (self.instincts[i], -INSTINCTS.index(i)))


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated snapshot; replaced as a whole when a behaviour is upserted or deleted."""

    behaviors: Mapping[str, Behavior]
    instincts: Mapping[str, Instinct]
    exercises: Mapping[str, Exercise]
    breed_groups: tuple[BreedGroup, ...] = field(default_factory=tuple)
