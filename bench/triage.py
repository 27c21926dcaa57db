"""Triage and retrieval quality on bench/data/eval/triage_{tune,heldout}.yaml, per part and language.

Run: .venv/bin/python bench/triage.py [--part tune|heldout|both] [--errors] [--fusion convex|rrf]
Each owner sentence is labelled with a behaviour slug (or two), health, dog_related, off_topic or vague.
It goes through the same KnowledgeSearch the conversation and SearchBehaviors use. Printed per part
(tune: what thresholds and word lists were tuned on; held-out: never looked at while tuning) and
language: recall@1/@3 of behaviour sentences, how many of them abstained, non-behaviour sentences
wrongly matched to a behaviour, health sentences routed to the vet answer, and the category accuracy.
`--part tune` reads only the tuning part (what to run while tuning: the held-out file is not even opened);
`--errors` lists the tuning part's misses (never the held-out part's); `--calibrate` searches the
clear-winner rule of search.py (slack below the threshold, margin to the runner-up) on the tuning part only,
counting a behaviour sentence missed and twice a non-behaviour sentence retrieval alone would match (word
lists off); `--fusion rrf` ranks with reciprocal rank fusion instead of the convex combination the server
uses (to compare the two).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.knowledge import factory  # noqa: E402
from server.knowledge import search as search_rules  # noqa: E402
from server.knowledge.retrieval.interface import Match  # noqa: E402
from server.knowledge.triage import Category  # noqa: E402
from server.knowledge.triage_model import Opinion  # noqa: E402

DATA = ROOT / "bench/data/eval"
NON_BEHAVIOUR = ("health", "dog_related", "off_topic", "vague")


@dataclass
class Tally:
    behaviour: int = 0
    hit1: int = 0
    hit3: int = 0
    abstained: int = 0
    others: int = 0
    wrongly_matched: int = 0
    health: int = 0
    health_to_vet: int = 0
    correct_category: int = 0
    total: int = 0
    per_label: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


def load(part: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load((DATA / f"triage_{part}.yaml").read_text(encoding="utf-8"))["items"]
    return items


def expected_category(label: str | list[str]) -> str:
    return label if isinstance(label, str) and label in NON_BEHAVIOUR else Category.BEHAVIOUR.value


async def evaluate(knowledge: factory.Knowledge, items: list[dict[str, Any]], errors: list[str] | None) -> Tally:
    tally = Tally()
    for item in items:
        label = item["label"]
        slugs = [label] if isinstance(label, str) else list(label)
        result = await knowledge.search.search(item["text"], 3)
        ids = [m.id for m in result.matches]
        expected = expected_category(label)
        tally.total += 1
        correct = result.category.value == expected
        if expected == Category.BEHAVIOUR.value:
            tally.behaviour += 1
            hit = bool(ids) and ids[0] in slugs
            tally.hit1 += hit
            tally.hit3 += any(s in ids for s in slugs)
            tally.abstained += not ids
            correct = hit
        else:
            tally.others += 1
            tally.wrongly_matched += bool(ids)
        if expected == "health":
            tally.health += 1
            tally.health_to_vet += result.category is Category.HEALTH
        tally.correct_category += correct
        row = tally.per_label[expected]
        row[0] += correct
        row[1] += 1
        if errors is not None and not correct:
            errors.append(
                f"  [{item['lang']}] {expected:<11} got {result.category.value:<11} {ids[:1]} {item['text']!r}"
            )
    return tally


@dataclass(frozen=True)
class Scored:
    """One tuning sentence as the clear-winner rule sees it."""

    expected: str
    words: Category | None  # what the word lists decided
    opinion: Opinion | None  # the triage model's
    top_is_right: bool
    top: str | None
    scores: list[float]
    needed: float | None
    slugs: tuple[str, ...] = ()
    candidates: tuple[Match, ...] = ()  # retrieval's best, for the phrasing model to reorder
    values: dict[str, float] = field(default_factory=dict)  # the phrasing model's decision values


async def score(knowledge: factory.Knowledge, items: list[dict[str, Any]]) -> list[Scored]:
    found = []
    for item in items:
        label = item["label"]
        slugs = [label] if isinstance(label, str) else list(label)
        ranked = await knowledge.search.retriever.search(item["text"], search_rules.FUSION_CANDIDATES)
        phrasings = knowledge.search.phrasings
        found.append(
            Scored(
                expected=expected_category(label),
                words=await knowledge.search.sort_by_words(item["text"]),
                opinion=await knowledge.search.opinion(item["text"]),
                top_is_right=bool(ranked) and ranked[0].id in slugs,
                top=ranked[0].id if ranked else None,
                scores=[m.score for m in ranked],
                needed=knowledge.search.threshold(item["text"]),
                slugs=tuple(slugs),
                candidates=tuple(ranked),
                values={} if phrasings is None else await phrasings.scores(item["text"]),
            )
        )
    return found


def calibrate(scored: list[Scored]) -> None:
    """Print the settings with the fewest errors on the tuning part: first the clear-winner rule on
    retrieval alone (word lists and model off), then the model's lead with the word lists on."""
    behaviour = Category.BEHAVIOUR.value
    results = []
    for slack in (0.0, 0.05, 0.1, 0.15, 0.2):
        for margin in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4):
            passed = [
                s.needed is not None and search_rules.confident(s.scores, s.needed, slack=slack, margin=margin)
                for s in scored
            ]
            pairs = list(zip(scored, passed, strict=True))
            missed = sum(1 for s, ok in pairs if s.expected == behaviour and not (ok and s.top_is_right))
            false = sum(1 for s, ok in pairs if s.expected != behaviour and ok)
            results.append((missed + 2 * false, missed, false, slack, margin))
    print(f"{'errors':>6} {'missed':>6} {'false':>5} {'slack':>5} {'margin':>6}  (retrieval alone)")
    for cost, missed, false, slack, margin in [*sorted(results)[:6], *(r for r in results if r[3] == 0.0)][:12]:
        print(f"{cost:>6} {missed:>6} {false:>5} {slack:>5.2f} {margin:>6.2f}")
    print(
        f"\n{'errors':>6} {'missed':>6} {'false':>5} {'no vet':>6} {'override':>8} {'floor':>5}  (word lists and model)"
    )
    rows = []
    for lead in (0.0, 0.02, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 9.0):
        for floor in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 9.0):
            missed = false = no_vet = 0
            for s in scored:
                top_score = s.scores[0] if s.scores else 0.0
                matched = s.needed is not None and (
                    search_rules.confident(s.scores, s.needed)
                    or search_rules.agreed(s.top, top_score, s.opinion, floor=floor)
                )
                decided = search_rules.decide(s.words, matched, s.opinion, override=lead)
                missed += s.expected == behaviour and not (decided is Category.BEHAVIOUR and s.top_is_right)
                false += s.expected != behaviour and decided is Category.BEHAVIOUR
                no_vet += s.expected == Category.HEALTH.value and decided is not Category.HEALTH
            rows.append((missed + 2 * false + no_vet, missed, false, no_vet, lead, floor))
    for cost, missed, false, no_vet, lead, floor in [*sorted(rows)[:8], *(r for r in rows if r[5] == 9.0)][:16]:
        print(f"{cost:>6} {missed:>6} {false:>5} {no_vet:>6} {lead:>8.2f} {floor:>5.2f}")
    print(f"\n{'weight':>6} {'right first':>11}  (phrasing model reordering retrieval's best, behaviour sentences)")
    ordered = [s for s in scored if s.expected == behaviour and s.candidates]
    for weight in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 100.0):
        right = sum(
            search_rules.reordered(list(s.candidates), s.values, weight=weight)[0].id in s.slugs for s in ordered
        )
        print(f"{weight:>6.2f} {right:>5}/{len(ordered):<5}")


def ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def print_table(rows: list[tuple[str, str, Tally]]) -> None:
    header = (
        f"{'part':<8} {'lang':<4} {'n':>4} {'recall@1':>8} {'recall@3':>8} {'abstain':>7} "
        f"{'wrong match':>11} {'health->vet':>11} {'category acc':>12}"
    )
    print(header)
    for part, lang, t in rows:
        print(
            f"{part:<8} {lang:<4} {t.total:>4} {ratio(t.hit1, t.behaviour):>8} {ratio(t.hit3, t.behaviour):>8} "
            f"{ratio(t.abstained, t.behaviour):>7} {t.wrongly_matched:>4}/{t.others:<3}"
            f" {ratio(t.wrongly_matched, t.others):>5}"
            f" {ratio(t.health_to_vet, t.health):>11} {ratio(t.correct_category, t.total):>12}"
        )
    print()
    print(f"{'part':<8} {'lang':<4} " + " ".join(f"{c:>11}" for c in (Category.BEHAVIOUR.value, *NON_BEHAVIOUR)))
    for part, lang, t in rows:
        cells = [t.per_label.get(c, [0, 0]) for c in (Category.BEHAVIOUR.value, *NON_BEHAVIOUR)]
        print(f"{part:<8} {lang:<4} " + " ".join(f"{ratio(ok, n):>6} ({n:>3})" for ok, n in cells))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the tuning part's misses")
    parser.add_argument("--fusion", choices=("convex", "rrf"), default="convex")
    parser.add_argument("--part", choices=("tune", "heldout", "both"), default="both", help="which part to run")
    parser.add_argument("--calibrate", action="store_true", help="search the clear-winner rule on the tuning part")
    args = parser.parse_args()
    rows: list[tuple[str, str, Tally]] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = await factory.build(
            ROOT / "data/knowledge", Path(tmp) / "overlay", ROOT / "var/cache", fusion=args.fusion
        )
        if args.calibrate:
            calibrate(await score(knowledge, load("tune")))
            return
        started, queries = time.perf_counter(), 0
        for part in ("tune", "heldout") if args.part == "both" else (args.part,):
            items = load(part)
            queries += len(items)
            for lang in ("de", "en"):
                subset = [i for i in items if i["lang"] == lang]
                show = errors if args.errors and part == "tune" else None
                rows.append((part, lang, await evaluate(knowledge, subset, show)))
        elapsed = time.perf_counter() - started
    print_table(rows)
    print(f"\n{queries} sentences, {1000 * elapsed / queries:.1f} ms per sentence (one process, no server)")
    print("targets on held-out: recall@1 >= 0.95 de, >= 0.90 en; wrong match <= 0.02; health->vet >= 0.95")
    if errors:
        print("\ntuning-part misses:")
        print("\n".join(errors))


if __name__ == "__main__":
    asyncio.run(main())
