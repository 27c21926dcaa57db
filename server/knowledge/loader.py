"""Load data/knowledge/ (plus the admin overlay) into a validated `KnowledgeBase`.

Each file is checked against the pydantic schema in `schema.py` (the same models check UpsertBehavior);
the checks that need the whole base are here. Every problem found is collected, so one `KnowledgeError`
lists all of them with their location; the server refuses to start with an invalid base.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from . import schema
from .types import INSTINCTS, Behavior, BreedGroup, Exercise, Instinct, KnowledgeBase

MIN_BEHAVIORS = 40
MIN_EXERCISES = 20
MIN_BREED_GROUPS = 10

Doc = TypeVar("Doc", bound=BaseModel)


class KnowledgeError(ValueError):
    """The knowledge base breaks its schema; `problems` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _validate(model: type[Doc], data: Any, where: str, problems: list[str]) -> Doc | None:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems.extend(schema.problems(error, where))
        return None


def parse_behavior(data: Any, where: str, problems: list[str]) -> Behavior | None:
    """Parse one behaviour mapping (German texts, an `en` block, variants), appending schema problems;
    None when it breaks the schema."""
    doc = _validate(schema.BehaviorDoc, data, where, problems)
    return doc.to_behavior() if doc is not None else None


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _load_instincts(root: Path, problems: list[str]) -> dict[str, Instinct]:
    doc = _validate(schema.InstinctsFile, _read(root / "instincts.yaml"), "instincts.yaml", problems)
    found = {i.id: i.to_instinct() for i in doc.instincts} if doc else {}
    if doc and (set(found) != set(INSTINCTS) or len(doc.instincts) != len(INSTINCTS)):
        problems.append(f"instincts.yaml: must define exactly {', '.join(INSTINCTS)}")
    return found


def _load_exercises(root: Path, problems: list[str]) -> dict[str, Exercise]:
    doc = _validate(schema.ExercisesFile, _read(root / "exercises.yaml"), "exercises.yaml", problems)
    found: dict[str, Exercise] = {}
    for i, entry in enumerate(doc.exercises if doc else []):
        if entry.id in found:
            problems.append(f"exercises.yaml: exercises[{i}].id: {entry.id!r} is a duplicate")
        found[entry.id] = entry.to_exercise()
    if doc and len(found) < MIN_EXERCISES:
        problems.append(f"exercises.yaml: needs at least {MIN_EXERCISES} exercises, has {len(found)}")
    return found


def _load_breeds(root: Path, problems: list[str]) -> tuple[BreedGroup, ...]:
    doc = _validate(schema.BreedsFile, _read(root / "breeds.yaml"), "breeds.yaml", problems)
    groups = tuple(entry.to_group() for entry in doc.breed_groups) if doc else ()
    owner: dict[str, str] = {}
    for i, group in enumerate(groups):
        for alias in group.aliases:
            if alias in owner and owner[alias] != group.id:
                problems.append(f"breeds.yaml: breed_groups[{i}].aliases: {alias!r} is also in group {owner[alias]!r}")
            owner[alias] = group.id
    if doc and len(groups) < MIN_BREED_GROUPS:
        problems.append(f"breeds.yaml: needs at least {MIN_BREED_GROUPS} breed groups, has {len(groups)}")
    return groups


def _load_behavior_dir(directory: Path, problems: list[str]) -> dict[str, Behavior]:
    found = {}
    for path in sorted(directory.glob("*.yaml")):
        behavior = parse_behavior(_read(path), f"behaviors/{path.name}", problems)
        if behavior is None:
            continue
        if behavior.id != path.stem:
            problems.append(f"behaviors/{path.name}: id: {behavior.id!r} differs from the file name")
        found[path.stem] = behavior
    return found


class UnknownExercisesError(KnowledgeError):
    """A behaviour names exercises the base does not have; `names` lists them."""

    def __init__(self, behavior_id: str, names: list[str]) -> None:
        super().__init__([f"behaviors/{behavior_id}: exercises: unknown exercise {name!r}" for name in names])
        self.names = names


def unknown_exercises(behavior: Behavior, exercises: Mapping[str, Exercise]) -> list[str]:
    """The exercises `behavior` names that are not in `exercises`."""
    return [name for name in behavior.exercises if name not in exercises]


def check_references(behaviors: Mapping[str, Behavior], exercises: Mapping[str, Exercise]) -> list[str]:
    """Problems with behaviours' exercise references (each must exist; 1 to 3 of them)."""
    problems = []
    for behavior in behaviors.values():
        if not 1 <= len(behavior.exercises) <= 3:
            problems.append(f"behaviors/{behavior.id}: exercises: needs 1 to 3 exercises")
        missing = unknown_exercises(behavior, exercises)
        if missing:
            problems.extend(UnknownExercisesError(behavior.id, missing).problems)
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
