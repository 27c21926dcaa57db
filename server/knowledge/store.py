"""The live knowledge base: a validated snapshot, replaced on upsert/delete, persisted as YAML overlay files.

Admin changes are written under the overlay directory (default var/knowledge/): `behaviors/<slug>.yaml`
for upserts (same schema as data/knowledge/behaviors/) and `deleted.yaml` for deletions, so they
survive a restart, stay readable and can be reviewed and moved into data/knowledge/ by hand.
The retriever is re-indexed before the new snapshot is published, so changes take effect at once.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from . import loader
from .retrieval.interface import Retriever
from .types import Behavior, BehaviorText, KnowledgeBase


def _text_dict(text: BehaviorText) -> dict[str, Any]:
    return {
        "title": text.title,
        "phrasings": list(text.phrasings),
        "dog_view": text.dog_view,
        "instincts": dict(text.instincts),
        "first_aid": text.first_aid,
    }


def behavior_to_dict(behavior: Behavior) -> dict[str, Any]:
    """The YAML shape of data/knowledge/behaviors/ (German at the top level, `en`, `variants`)."""
    german = _text_dict(behavior.text("de"))
    return {
        "id": behavior.id,
        **{k: german[k] for k in ("title", "phrasings", "dog_view", "instincts")},
        "instinct_weights": dict(behavior.instinct_weights),
        "first_aid": german["first_aid"],
        "exercises": list(behavior.exercises),
        "en": _text_dict(behavior.text("en")),
        "variants": [{"when": dict(v.when), "part": v.part, **dict(v.texts)} for v in behavior.variants],
    }


def _write_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=False)
    os.replace(tmp, path)


class KnowledgeStore:
    """Holds the current `KnowledgeBase`; `overlay` is where admin changes persist."""

    def __init__(self, base: KnowledgeBase, retriever: Retriever, overlay: Path) -> None:
        self._base = base
        self._retriever = retriever
        self._overlay = overlay
        self._lock = asyncio.Lock()

    @property
    def base(self) -> KnowledgeBase:
        return self._base

    async def start(self) -> None:
        """Index the loaded behaviours (embeddings come from the disk cache when present)."""
        await self._retriever.index(list(self._base.behaviors.values()))

    async def upsert(self, behavior: Behavior) -> bool:
        """Create or replace `behavior`; True when it is new.

        Raises:
            loader.UnknownExercisesError: it names exercises that do not exist.
        """
        async with self._lock:
            missing = loader.unknown_exercises(behavior, self._base.exercises)
            if missing:
                raise loader.UnknownExercisesError(behavior.id, missing)
            created = behavior.id not in self._base.behaviors
            await asyncio.to_thread(self._persist_upsert, behavior)
            await self._publish({**self._base.behaviors, behavior.id: behavior})
            return created

    async def delete(self, slug: str) -> bool:
        """Remove the behaviour `slug`; False when there was none."""
        async with self._lock:
            if slug not in self._base.behaviors:
                return False
            await asyncio.to_thread(self._persist_delete, slug)
            await self._publish({k: v for k, v in self._base.behaviors.items() if k != slug})
            return True

    async def _publish(self, behaviors: dict[str, Behavior]) -> None:
        await self._retriever.index(list(behaviors.values()))
        self._base = replace(self._base, behaviors=behaviors)

    def _deleted(self) -> list[str]:
        path = self._overlay / "deleted.yaml"
        if not path.is_file():
            return []
        return [str(s) for s in yaml.safe_load(path.read_text(encoding="utf-8")) or []]

    def _persist_upsert(self, behavior: Behavior) -> None:
        _write_atomic(self._overlay / "behaviors" / f"{behavior.id}.yaml", behavior_to_dict(behavior))
        deleted = self._deleted()
        if behavior.id in deleted:
            _write_atomic(self._overlay / "deleted.yaml", [s for s in deleted if s != behavior.id])

    def _persist_delete(self, slug: str) -> None:
        (self._overlay / "behaviors" / f"{slug}.yaml").unlink(missing_ok=True)
        _write_atomic(self._overlay / "deleted.yaml", sorted({*self._deleted(), slug}))
