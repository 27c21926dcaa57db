"""The knowledge texts fitted to one owner's dog: language, variants by age, sex and place, breed notes.

The base texts of the knowledge base hold for every dog; a behaviour's `variants` add sentences that
only fit some (a puppy, a female, a garden), and only when the owner said so. A breed group's note is
said only when that group's strongest instinct is the one leading the explanation, and never for a mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.knowledge.types import Behavior, BreedGroup, Exercise, KnowledgeBase

from .profile import Profile


def _with_variants(text: str, behavior: Behavior, part: str, language: str, profile: Profile) -> str:
    facts = profile.facts()
    extra = [v.texts[language] for v in behavior.variants if v.part == part and v.applies(facts)]
    return " ".join((text, *extra))


def dog_view(behavior: Behavior, language: str, profile: Profile) -> str:
    return _with_variants(behavior.text(language).dog_view, behavior, "dog_view", language, profile)


def instinct_text(behavior: Behavior, instinct: str, language: str, profile: Profile) -> str:
    return _with_variants(behavior.text(language).instincts[instinct], behavior, instinct, language, profile)


def first_aid(behavior: Behavior, language: str, profile: Profile) -> str:
    return _with_variants(behavior.text(language).first_aid, behavior, "first_aid", language, profile)


def breed_group(base: KnowledgeBase, profile: Profile) -> BreedGroup | None:
    return next((g for g in base.breed_groups if g.id == profile.breed_group), None)


def breed_note(base: KnowledgeBase, profile: Profile, leading: str, language: str) -> str | None:
    """The dog's sentence about its breed group, when the group's disposition supports `leading`."""
    group = breed_group(base, profile)
    if group is None or profile.mix or group.leading != leading:
        return None
    return group.notes.get(language) or None


@dataclass(frozen=True)
class ExerciseParts:
    title: str
    background: str
    steps: tuple[str, ...]


def exercise(exercise: Exercise, language: str) -> ExerciseParts:
    text = exercise.text(language)
    return ExerciseParts(text.title, text.background, text.steps)


def numbered(steps: tuple[str, ...]) -> str:
    """The steps as lines "1. ...", the tail of an exercise message's text (see Message.steps)."""
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
