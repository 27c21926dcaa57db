"""The knowledge base schema as pydantic models: one definition for the YAML files and for UpsertBehavior.

data/knowledge/README.md describes it for authors. Texts are collapsed to single spaces and must not be
empty; unknown keys are refused (a typo is not silently ignored). `problems` turns a validation error
into one line per finding, each naming where it is (`behaviors/x.yaml: en.phrasings: ...`). What needs
the whole base (ids equal file names, exercises that exist, aliases unique across groups, minimum
counts) is checked by the loader.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from .types import (
    INSTINCTS,
    PROFILE_VALUES,
    VARIANT_PARTS,
    Behavior,
    BehaviorText,
    BreedGroup,
    Exercise,
    ExerciseText,
    Instinct,
    InstinctText,
    Variant,
)

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MIN_PHRASINGS = 5


def _one_line(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise PydanticCustomError("empty_text", "must be a non-empty text")
    return text


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise PydanticCustomError("slug", "must be a slug like leinen-ziehen")
    return value


def _instinct(value: str) -> str:
    if value not in INSTINCTS:
        raise PydanticCustomError("instinct", "must be one of {choices}", {"choices": ", ".join(INSTINCTS)})
    return value


def _age(value: str) -> str:
    if value not in PROFILE_VALUES["age"]:
        raise PydanticCustomError("age", "must be one of {choices}", {"choices": ", ".join(PROFILE_VALUES["age"])})
    return value


Text = Annotated[str, Field(strict=True), AfterValidator(_one_line)]
Slug = Annotated[str, Field(strict=True), AfterValidator(_slug)]
InstinctId = Annotated[str, Field(strict=True), AfterValidator(_instinct)]
AgeClass = Annotated[str, Field(strict=True), AfterValidator(_age)]
Weight = Annotated[int, Field(strict=True, ge=0, le=100)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstinctTexts(_Model):
    """One text per instinct, exactly the four."""

    jagd: Text
    rudel: Text
    territorial: Text
    sexual: Text


class InstinctWeights(_Model):
    """Integers 0..100 per instinct that sum to exactly 100."""

    jagd: Weight
    rudel: Weight
    territorial: Weight
    sexual: Weight

    @model_validator(mode="after")
    def _sum_is_100(self) -> InstinctWeights:
        total = sum(self.model_dump().values())
        if total != 100:
            raise PydanticCustomError("weights_sum", "must sum to 100, sums to {total}", {"total": total})
        return self


class BehaviorTextDoc(_Model):
    title: Text
    phrasings: Annotated[list[Text], Field(min_length=MIN_PHRASINGS)]
    dog_view: Text
    instincts: InstinctTexts
    first_aid: Text

    def to_text(self) -> BehaviorText:
        instincts = self.instincts.model_dump()
        return BehaviorText(self.title, tuple(self.phrasings), self.dog_view, instincts, self.first_aid)


class VariantDoc(_Model):
    when: dict[str, str]
    part: str
    de: Text
    en: Text

    @field_validator("when")
    @classmethod
    def _known_conditions(cls, when: dict[str, str]) -> dict[str, str]:
        if not when or any(key not in PROFILE_VALUES for key in when):
            raise PydanticCustomError("when", "must map some of {keys} to a value", {"keys": ", ".join(PROFILE_VALUES)})
        bad = [f"{key}={value}" for key, value in when.items() if value not in PROFILE_VALUES[key]]
        if bad:
            raise PydanticCustomError("when_value", "unknown value {bad}", {"bad": ", ".join(bad)})
        return when

    @field_validator("part")
    @classmethod
    def _known_part(cls, part: str) -> str:
        if part not in VARIANT_PARTS:
            raise PydanticCustomError("part", "must be one of {parts}", {"parts": ", ".join(VARIANT_PARTS)})
        return part

    def to_variant(self) -> Variant:
        return Variant(when=dict(self.when), part=self.part, texts={"de": self.de, "en": self.en})


class BehaviorDoc(BehaviorTextDoc):
    """A behaviour: German texts at the top, English in `en`, 1 to 3 distinct exercises."""

    id: Slug
    instinct_weights: InstinctWeights
    exercises: Annotated[list[Slug], Field(min_length=1, max_length=3)]
    en: BehaviorTextDoc
    variants: list[VariantDoc] = []

    @field_validator("exercises")
    @classmethod
    def _distinct(cls, exercises: list[str]) -> list[str]:
        if len(set(exercises)) != len(exercises):
            raise PydanticCustomError("distinct", "must name each exercise once")
        return exercises

    def to_behavior(self) -> Behavior:
        german = self.to_text()
        return Behavior(
            id=self.id,
            title=german.title,
            phrasings=german.phrasings,
            dog_view=german.dog_view,
            instincts=german.instincts,
            instinct_weights=self.instinct_weights.model_dump(),
            first_aid=german.first_aid,
            exercises=tuple(self.exercises),
            en=self.en.to_text(),
            variants=tuple(v.to_variant() for v in self.variants),
        )


class InstinctTextDoc(_Model):
    name: Text
    description: Text
    dog_voice: Text


class InstinctDoc(InstinctTextDoc):
    id: InstinctId
    en: InstinctTextDoc

    def to_instinct(self) -> Instinct:
        return Instinct(self.id, self.name, self.description, self.dog_voice, InstinctText(**self.en.model_dump()))


class ExerciseTextDoc(_Model):
    title: Text
    background: Text
    steps: Annotated[list[Text], Field(min_length=4)]


class ExerciseDoc(ExerciseTextDoc):
    id: Slug
    instincts: Annotated[list[InstinctId], Field(min_length=1)]
    ages: list[AgeClass] = []
    en: ExerciseTextDoc

    @model_validator(mode="after")
    def _same_steps_in_english(self) -> ExerciseDoc:
        if len(self.en.steps) != len(self.steps):
            raise PydanticCustomError(
                "steps", "en has {en} steps, the German {de}", {"en": len(self.en.steps), "de": len(self.steps)}
            )
        return self

    def to_exercise(self) -> Exercise:
        english = ExerciseText(self.en.title, self.en.background, tuple(self.en.steps))
        return Exercise(
            self.id, self.title, tuple(self.instincts), self.background, tuple(self.steps), english, tuple(self.ages)
        )


class BreedNameDoc(_Model):
    name: Text


class BreedNoteDoc(_Model):
    de: Text
    en: Text


class BreedGroupDoc(_Model):
    id: Slug
    name: Text
    instincts: InstinctWeights
    breeds: Annotated[list[Text], Field(min_length=4)]
    aliases: Annotated[list[Text], Field(min_length=1)]
    en: BreedNameDoc
    dog_view_note: BreedNoteDoc

    def to_group(self) -> BreedGroup:
        return BreedGroup(
            id=self.id,
            name=self.name,
            instincts=self.instincts.model_dump(),
            breeds=tuple(self.breeds),
            aliases=tuple(a.lower() for a in self.aliases),
            names={"de": self.name, "en": self.en.name},
            notes=self.dog_view_note.model_dump(),
        )


class InstinctsFile(_Model):
    instincts: list[InstinctDoc]


class ExercisesFile(_Model):
    exercises: list[ExerciseDoc]


class BreedsFile(_Model):
    breed_groups: list[BreedGroupDoc]


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of the schema",
    "string_type": "must be a non-empty text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "int_type": "must be an integer 0..100",
    "greater_than_equal": "must be an integer 0..100",
    "less_than_equal": "must be an integer 0..100",
}


def _location(loc: tuple[int | str, ...]) -> str:
    """`("variants", 0, "when")` as `variants[0].when`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _message(error: ErrorDetails) -> str:
    if error["type"] == "too_short":
        context: dict[str, Any] = dict(error.get("ctx") or {})
        return f"needs at least {context.get('min_length')} entries, has {context.get('actual_length')}"
    if error["type"] == "too_long":
        return f"allows at most {dict(error.get('ctx') or {}).get('max_length')} entries"
    return _MESSAGES.get(error["type"], error["msg"])


def findings(error: ValidationError) -> list[tuple[str, str]]:
    """(location, message) per finding; the location is "" for the document as a whole."""
    return [(_location(tuple(found["loc"])), _message(found)) for found in error.errors(include_url=False)]


def problems(error: ValidationError, where: str) -> list[str]:
    """One line per finding: `where: location: message`."""
    return [f"{where}: {at}: {message}" if at else f"{where}: {message}" for at, message in findings(error)]
