"""The web client's own sources use no HTML sinks: server text can only ever become text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "clients" / "web" / "src"
SOURCES = sorted(p for p in SRC.rglob("*.ts") if "gen" not in p.relative_to(SRC).parts)
SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc")


def test_sources_found() -> None:
    assert len(SOURCES) >= 5


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_html_sinks(source: Path) -> None:
    assert SINKS.findall(source.read_text(encoding="utf-8")) == []
