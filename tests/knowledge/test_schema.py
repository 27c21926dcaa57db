"""The knowledge base in data/knowledge/ satisfies its schema (README.md there) on load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from server.knowledge import loader
from server.knowledge.types import INSTINCTS

ROOT = Path(__file__).resolve().parents[2] / "data" / "knowledge"
REQUIRED_SLUGS = [
    "leinenziehen",
    "leinenaggression",
    "aggression-artgenossen",
    "rueckruf",
    "bellen-klingel",
    "alleinbleiben",
    "futteraggression",
    "ressourcen-spielzeug",
    "anspringen",
    "jagen-wild",
    "jagen-katzen",
    "jagen-bewegung",
    "winseln",
    "markieren-wohnung",
    "aufreiten",
    "graben",
    "zerstoeren",
    "kot-fressen",
    "fressen-unterwegs",
    "liegeplatz-verteidigen",
    "besucher-verbellen",
    "kinder-anknurren",
    "angst-geraeusche",
    "angst-fremde",
    "autofahren",
    "zaun-verbellen",
    "schnappen-haende",
    "hinterherlaufen",
    "halter-beschuetzen",
    "hueten-zwicken",
    "laeufige-huendin",
    "streunen",
    "stubenreinheit",
    "betteln",
    "essen-klauen",
    "ueberdreht",
    "schwanzjagen",
    "anfassen-pflege",
    "nachts-bellen",
    "zweithund-streit",
    "leine-beissen",
    "waelzen",
    "ball-fixiert",
    "hochheben-knurren",
]


def test_base_loads_with_minimum_sizes() -> None:
    base = loader.load(ROOT)
    assert len(base.behaviors) >= 40
    assert len(base.exercises) >= 20
    assert len(base.breed_groups) >= 10
    assert set(base.instincts) == set(INSTINCTS)


def test_required_slugs_present_and_ids_equal_file_names() -> None:
    base = loader.load(ROOT)
    assert set(REQUIRED_SLUGS) <= set(base.behaviors)
    for path in (ROOT / "behaviors").glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"] == path.stem


def test_behaviours_complete() -> None:
    base = loader.load(ROOT)
    for behavior in base.behaviors.values():
        assert len(behavior.phrasings) >= 5, behavior.id
        assert set(behavior.instincts) == set(INSTINCTS), behavior.id
        assert sum(behavior.instinct_weights.values()) == 100, behavior.id
        assert all(e in base.exercises for e in behavior.exercises), behavior.id
    for group in base.breed_groups:
        assert sum(group.instincts.values()) == 100, group.id


def test_no_alias_in_two_groups() -> None:
    aliases = [a for g in loader.load(ROOT).breed_groups for a in g.aliases]
    assert len(aliases) == len(set(aliases))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(id="anders"), "differs from the file name"),
        (lambda d: d["instinct_weights"].update(jagd=99), "must sum to 100"),
        (lambda d: d.update(exercises=["gibt-es-nicht"]), "unknown exercise"),
        (lambda d: d["instincts"].pop("sexual"), "exactly the keys"),
        (lambda d: d.update(phrasings=["nur eine"]), "at least 5"),
    ],
)
def test_broken_behaviour_is_reported(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "knowledge"
    shutil.copytree(ROOT, copy)
    path = copy / "behaviors" / "leinenziehen.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(loader.KnowledgeError) as caught:
        loader.load(copy)
    assert any(expected in p for p in caught.value.problems)


def test_alias_in_two_groups_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(ROOT, copy)
    data = yaml.safe_load((copy / "breeds.yaml").read_text(encoding="utf-8"))
    data["breed_groups"][1]["aliases"].append(data["breed_groups"][0]["aliases"][0])
    (copy / "breeds.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(loader.KnowledgeError, match="also in group"):
        loader.load(copy)
