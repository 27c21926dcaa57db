"""Load data/knowledge/ (plus the admin overlay) into a validated `KnowledgeBase`.

The schema is data/knowledge/README.md. Every problem found is collected, so one `KnowledgeError`
lists all of them; the server refuses to start with an invalid base.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .types import (
    INSTINCTS,
    LANGUAGES,
    PROFILE_VALUES,
    VARIANT_PARTS,
    Behavior,
    BehaviorText,
    BreedGroup,
    Exercise,
    ExerciseText,
    Instinct,
    InstinctText,
    KnowledgeBase,
    Variant,
)

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MIN_BEHAVIORS = 40
MIN_EXERCISES = 20
MIN_BREED_GROUPS = 10
MIN_PHRASINGS = 5


class KnowledgeError(ValueError):
    """The knowledge base breaks its schema; `problems` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: '{key}' must be a non-empty text")
        return ""
    return " ".join(value.split())


def _texts(data: Mapping[str, Any], key: str, where: str, problems: list[str], *, minimum: int = 1) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: '{key}' must be a list of non-empty texts")
        return ()
    if len(value) < minimum:
        problems.append(f"{where}: '{key}' needs at least {minimum} entries, has {len(value)}")
    return tuple(" ".join(v.split()) for v in value)


def _instinct_map(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict) or set(value) != set(INSTINCTS):
        problems.append(f"{where}: '{key}' must have exactly the keys {', '.join(INSTINCTS)}")
        return {}
    return {k: value[k] for k in INSTINCTS}


def _weights(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> dict[str, int]:
    weights = _instinct_map(data, key, where, problems)
    if not weights:
        return {}
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in weights.values()):
        problems.append(f"{where}: '{key}' values must be integers 0..100")
        return {}
    if sum(weights.values()) != 100:
        problems.append(f"{where}: '{key}' must sum to 100, sums to {sum(weights.values())}")
    return weights


def _mapping(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        problems.append(f"{where}: '{key}' must be a mapping")
        return {}
    return value


def _instinct_texts(data: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, str]:
    texts = _instinct_map(data, "instincts", where, problems)
    if texts and not all(isinstance(v, str) and v.strip() for v in texts.values()):
        problems.append(f"{where}: 'instincts' texts must be non-empty")
    return {k: " ".join(str(v).split()) for k, v in texts.items()}


def _behavior_text(data: Mapping[str, Any], where: str, problems: list[str]) -> BehaviorText:
    return BehaviorText(
        title=_text(data, "title", where, problems),
        phrasings=_texts(data, "phrasings", where, problems, minimum=MIN_PHRASINGS),
        dog_view=_text(data, "dog_view", where, problems),
        instincts=_instinct_texts(data, where, problems),
        first_aid=_text(data, "first_aid", where, problems),
    )


def _variants(data: Mapping[str, Any], where: str, problems: list[str]) -> tuple[Variant, ...]:
    entries = data.get("variants") or []
    if not isinstance(entries, list):
        problems.append(f"{where}: 'variants' must be a list")
        return ()
    found = []
    for i, entry in enumerate(entries):
        at = f"{where}: variants[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at} must be a mapping")
            continue
        when = entry.get("when")
        if not isinstance(when, dict) or not when or any(PROFILE_VALUES.get(k) is None for k in when):
            problems.append(f"{at}: 'when' must map some of {', '.join(PROFILE_VALUES)} to a value")
            continue
        bad = [f"{k}={v}" for k, v in when.items() if v not in PROFILE_VALUES[k]]
        if bad:
            problems.append(f"{at}: unknown value {', '.join(bad)}")
        if entry.get("part") not in VARIANT_PARTS:
            problems.append(f"{at}: 'part' must be one of {', '.join(VARIANT_PARTS)}")
        texts = {language: _text(entry, language, at, problems) for language in LANGUAGES}
        found.append(Variant(when={str(k): str(v) for k, v in when.items()}, part=str(entry.get("part")), texts=texts))
    return tuple(found)


def parse_behavior(data: Any, where: str, problems: list[str]) -> Behavior | None:
    """Parse one behaviour mapping (German texts, an `en` block, variants), appending schema problems;
    None when it is not a mapping."""
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    slug = data.get("id")
    if not isinstance(slug, str) or not SLUG.match(slug):
        problems.append(f"{where}: 'id' must be a slug like leinen-ziehen")
        slug = ""
    german = _behavior_text(data, where, problems)
    english = _behavior_text(_mapping(data, "en", where, problems), f"{where}: en", problems)
    return Behavior(
        id=slug,
        title=german.title,
        phrasings=german.phrasings,
        dog_view=german.dog_view,
        instincts=german.instincts,
        instinct_weights=_weights(data, "instinct_weights", where, problems),
        first_aid=german.first_aid,
        exercises=_texts(data, "exercises", where, problems),
        en=english,
        variants=_variants(data, where, problems),
    )


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _load_instincts(root: Path, problems: list[str]) -> dict[str, Instinct]:
    entries = (_read(root / "instincts.yaml") or {}).get("instincts", [])
    found = {}
    for i, data in enumerate(entries):
        where = f"instincts.yaml[{i}]"
        english = _mapping(data, "en", where, problems)
        inst = Instinct(
            id=_text(data, "id", where, problems),
            name=_text(data, "name", where, problems),
            description=_text(data, "description", where, problems),
            dog_voice=_text(data, "dog_voice", where, problems),
            en=InstinctText(
                name=_text(english, "name", f"{where}: en", problems),
                description=_text(english, "description", f"{where}: en", problems),
                dog_voice=_text(english, "dog_voice", f"{where}: en", problems),
            ),
        )
        found[inst.id] = inst
    if set(found) != set(INSTINCTS):
        problems.append(f"instincts.yaml: must define exactly {', '.join(INSTINCTS)}")
    return found


def _load_exercises(root: Path, problems: list[str]) -> dict[str, Exercise]:
    found: dict[str, Exercise] = {}
    for i, data in enumerate((_read(root / "exercises.yaml") or {}).get("exercises", [])):
        where = f"exercises.yaml[{i}]"
        english = _mapping(data, "en", where, problems)
        ex = Exercise(
            id=_text(data, "id", where, problems),
            title=_text(data, "title", where, problems),
            instincts=_texts(data, "instincts", where, problems),
            background=_text(data, "background", where, problems),
            steps=_texts(data, "steps", where, problems, minimum=4),
            ages=tuple(data.get("ages") or ()),
            en=ExerciseText(
                title=_text(english, "title", f"{where}: en", problems),
                background=_text(english, "background", f"{where}: en", problems),
                steps=_texts(english, "steps", f"{where}: en", problems, minimum=4),
            ),
        )
        if ex.en is not None and len(ex.en.steps) != len(ex.steps):
            problems.append(f"{where}: en has {len(ex.en.steps)} steps, the German {len(ex.steps)}")
        if not SLUG.match(ex.id) or ex.id in found:
            problems.append(f"{where}: id {ex.id!r} is not a slug or is a duplicate")
        if not set(ex.ages) <= set(PROFILE_VALUES["age"]):
            problems.append(f"{where}: 'ages' must be some of {', '.join(PROFILE_VALUES['age'])}")
        if not set(ex.instincts) <= set(INSTINCTS):
            problems.append(f"{where}: unknown instinct in {list(ex.instincts)}")
        found[ex.id] = ex
    if len(found) < MIN_EXERCISES:
        problems.append(f"exercises.yaml: needs at least {MIN_EXERCISES} exercises, has {len(found)}")
    return found


def _load_breeds(root: Path, problems: list[str]) -> tuple[BreedGroup, ...]:
    groups = []
    owner: dict[str, str] = {}
    for i, data in enumerate((_read(root / "breeds.yaml") or {}).get("breed_groups", [])):
        where = f"breeds.yaml[{i}]"
        name = _text(data, "name", where, problems)
        note = _mapping(data, "dog_view_note", where, problems)
        group = BreedGroup(
            id=_text(data, "id", where, problems),
            name=name,
            instincts=_weights(data, "instincts", where, problems),
            breeds=_texts(data, "breeds", where, problems, minimum=4),
            aliases=tuple(a.lower() for a in _texts(data, "aliases", where, problems)),
            names={"de": name, "en": _text(_mapping(data, "en", where, problems), "name", f"{where}: en", problems)},
            notes={language: _text(note, language, f"{where}: dog_view_note", problems) for language in LANGUAGES},
        )
        for alias in group.aliases:
            if alias in owner and owner[alias] != group.id:
                problems.append(f"{where}: alias {alias!r} is also in group {owner[alias]!r}")
            owner[alias] = group.id
        groups.append(group)
    if len(groups) < MIN_BREED_GROUPS:
        problems.append(f"breeds.yaml: needs at least {MIN_BREED_GROUPS} breed groups, has {len(groups)}")
    return tuple(groups)


def _load_behavior_dir(directory: Path, problems: list[str]) -> dict[str, Behavior]:
    found = {}
    for path in sorted(directory.glob("*.yaml")):
        behavior = parse_behavior(_read(path), f"behaviors/{path.name}", problems)
        if behavior is None:
            continue
        if behavior.id != path.stem:
            problems.append(f"behaviors/{path.name}: id {behavior.id!r} differs from the file name")
        found[path.stem] = behavior
    return found


def check_references(behaviors: Mapping[str, Behavior], exercises: Mapping[str, Exercise]) -> list[str]:
    """Problems with behaviours' exercise references (each must exist; 1 to 3 of them)."""
    problems = []
    for behavior in behaviors.values():
        if not 1 <= len(behavior.exercises) <= 3:
            problems.append(f"behaviors/{behavior.id}: needs 1 to 3 exercises")
        problems.extend(
            f"behaviors/{behavior.id}: unknown exercise {ex!r}" for ex in behavior.exercises if ex not in exercises
        )
    return problems


def load(root: Path, overlay: Path | None = None) -> KnowledgeBase:
    """Read and validate the base at `root`, then apply the overlay (upserted and deleted behaviours).

    Raises:
        KnowledgeError: any schema problem, listing all of them.
    """
    problems: list[str] = []
    instincts = _load_instincts(root, problems)
    exercises = _load_exercises(root, problems)
    breeds = _load_breeds(root, problems)
    behaviors = _load_behavior_dir(root / "behaviors", problems)
    if len(behaviors) < MIN_BEHAVIORS:
        problems.append(f"behaviors/: needs at least {MIN_BEHAVIORS} behaviours, has {len(behaviors)}")
    if overlay is not None and overlay.is_dir():
        behaviors.update(_load_behavior_dir(overlay / "behaviors", problems))
        deleted = overlay / "deleted.yaml"
        for slug in (_read(deleted) or []) if deleted.is_file() else []:
            behaviors.pop(str(slug), None)
    problems.extend(check_references(behaviors, exercises))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(behaviors=behaviors, instincts=instincts, exercises=exercises, breed_groups=breeds)
