"""Yes/no/unsure classification on bench/data/eval/yesno_{tune,heldout}.yaml, per part and language.

Run: .venv/bin/python bench/yesno.py [--errors]
`server.conversation.words.intent` reads each answer; `other` in the data means "not an answer" (a new
description, a question, chatter). A yes read as no (or the reverse) is the worst mistake and counted
apart. `--errors` lists the tuning part's misses (never the held-out part's).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.conversation.words import Intent, intent  # noqa: E402

DATA = ROOT / "bench/data/eval"
LABELS = {True: "yes", False: "no"}  # PyYAML reads a bare yes/no as a boolean


def load(part: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load((DATA / f"yesno_{part}.yaml").read_text(encoding="utf-8"))["items"]
    return items


def predicted(text: str) -> str:
    said = intent(text)
    return "other" if said in (Intent.OTHER, Intent.RESTART) else said.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the tuning part's misses")
    args = parser.parse_args()
    print(f"{'part':<8} {'lang':<6} {'n':>4} {'accuracy':>8} {'yes<->no':>8}   per label (correct/n)")
    misses: list[str] = []
    for part in ("tune", "heldout"):
        items = load(part)
        for lang in sorted({str(i["lang"]) for i in items}):
            subset = [i for i in items if str(i["lang"]) == lang]
            correct, swapped = 0, 0
            per: Counter[str] = Counter()
            seen: Counter[str] = Counter()
            for item in subset:
                label = LABELS.get(item["label"], str(item["label"]))
                got = predicted(str(item["text"]))
                seen[label] += 1
                if got == label:
                    correct += 1
                    per[label] += 1
                elif {got, label} == {"yes", "no"}:
                    swapped += 1
                if got != label and args.errors and part == "tune":
                    misses.append(f"  [{lang}] {label:<6} got {got:<6} {item['text']!r}")
            labels = " ".join(f"{k} {per[k]}/{seen[k]}" for k in ("yes", "no", "unsure", "other"))
            print(f"{part:<8} {lang:<6} {len(subset):>4} {correct / len(subset):>8.3f} {swapped:>8}   {labels}")
    print("target: accuracy >= 0.98, no yes read as no or the reverse")
    if misses:
        print("\ntuning-part misses:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
