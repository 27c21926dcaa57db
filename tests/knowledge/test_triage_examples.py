"""data/knowledge/triage.yaml, the message model's example messages per category: every category in both
languages, and a broken file stops the start like any other break of the knowledge base (KnowledgeError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.knowledge.loader import KnowledgeError
from server.knowledge.message_model import EXAMPLE_CATEGORIES, load_examples

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_examples_hold_every_category() -> None:
    examples = load_examples(ROOT / "data/knowledge/triage.yaml")
    assert set(examples) == set(EXAMPLE_CATEGORIES)
    assert all(len(texts) >= 100 for texts in examples.values())  # at least 50 per language


def test_a_missing_language_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "triage.yaml"
    path.write_text(
        "health: {de: [a], en: [b]}\ndog_related: {de: [c]}\noff_topic: {de: [d], en: [e]}\n", encoding="utf-8"
    )
    with pytest.raises(KnowledgeError, match=r"dog_related\.en"):
        load_examples(path)


@pytest.mark.parametrize("content", ["health: [", "- just a list\n"])
def test_an_unreadable_or_misshapen_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "triage.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"triage\.yaml"):
        load_examples(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="unreadable"):
        load_examples(tmp_path / "triage.yaml")
