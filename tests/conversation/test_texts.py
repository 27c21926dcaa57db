"""Every template key exists in German and English, every key the flow uses exists, recurring lines have
at least three phrasings, and a line said again in one conversation is said differently."""

from __future__ import annotations

import re
from pathlib import Path

from server.conversation import texts

ACTIONS = Path(__file__).resolve().parents[2] / "server" / "conversation" / "actions.py"


def test_both_languages_have_the_same_keys() -> None:
    assert texts.keys("de") == texts.keys("en")


def test_every_key_used_by_the_flow_exists() -> None:
    source = ACTIONS.read_text(encoding="utf-8")
    used = set(re.findall(r'(?:say|say_once|line|feedback_question)\(\s*"([a-z0-9_]+)"', source))
    used |= {f"instinct_name_{i}" for i in ("jagd", "rudel", "territorial", "sexual")}
    used |= {f"{prefix}_{asked}" for prefix in ("reask", "clarify") for asked in ("confirm", "exercise", "another")}
    used |= {f"ask_context_{which}" for which in ("both", "age", "breed")}
    used |= {f"age_note_{age}" for age in ("puppy", "adolescent", "senior")}
    used |= {"vague_aggression", "vague_general", "off_topic", "off_topic_question", "need_more", "steps_heading"}
    assert len(used) > 40 and used <= texts.keys("de")


def test_placeholders_match_between_languages() -> None:
    for key in texts.keys("de"):
        for de, en in zip(texts.phrasings("de", key), texts.phrasings("en", key), strict=False):
            assert set(re.findall(r"{(\w+)}", de)) == set(re.findall(r"{(\w+)}", en)), key


def test_recurring_lines_have_three_phrasings_and_no_phrasing_twice() -> None:
    for language in texts.LANGUAGES:
        for key in texts.keys(language):
            options = texts.phrasings(language, key)
            assert len(set(options)) == len(options), (language, key)
            if key not in texts.ONCE:
                assert len(options) >= texts.MIN_PHRASINGS, (language, key)


def test_pick_rotates_through_unused_phrasings_first() -> None:
    used: dict[str, object] = {}
    count = len(texts.phrasings("de", "ask_symptom"))
    picked = [texts.pick("de", "ask_symptom", used) for _ in range(count + 1)]  # type: ignore[arg-type]
    assert len(set(picked[:count])) == count  # every phrasing once before any repeats
    assert picked[count] == picked[0]  # then the least recently used one
