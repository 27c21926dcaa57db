"""Every template key exists in German and English, and every key the flow uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from server.conversation import texts

FLOW = Path(__file__).resolve().parents[2] / "server" / "conversation" / "flow.py"


def test_both_languages_have_the_same_keys() -> None:
    assert texts.keys("de") == texts.keys("en")


def test_every_key_used_by_the_flow_exists() -> None:
    used = set(re.findall(r'(?:say|_feedback)\(\s*"([a-z0-9_]+)"', FLOW.read_text(encoding="utf-8")))
    used |= {f"instinct_name_{i}" for i in ("jagd", "rudel", "territorial", "sexual")}
    used |= {"exercise", "exercise_steps", "feedback_q4_invalid"}
    assert used and used <= texts.keys("de")


def test_placeholders_match_between_languages() -> None:
    for key in texts.keys("de"):
        de = set(re.findall(r"{(\w+)}", texts._load("de")[key]))
        en = set(re.findall(r"{(\w+)}", texts._load("en")[key]))
        assert de == en, key
