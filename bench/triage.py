"""Triage and retrieval quality: the owner messages (tuning part, by cross-validation) and the held-out part.

Run: .venv/bin/python bench/triage.py [--part tune|heldout|both] [--errors] [--calibrate]
Each owner sentence is labelled with a behaviour id (or two), health, dog_related, off_topic or vague. It goes
through the same KnowledgeSearch the conversation and SearchBehaviors use. The tuning part is
data/knowledge/owner_messages.yaml, which the message model also learns from, so its figures come from
cross-validation by set: each set (`set: v0`...) is searched by a model trained without it. The held-out part
(bench/data/eval/triage_heldout.yaml) is searched by the server's own model and never looked at while
tuning: only its totals are printed. Printed per part and language: recall@1/@3 of behaviour sentences, how
many of them abstained, non-behaviour sentences wrongly matched to a behaviour, health sentences routed to
the vet answer, and the category accuracy. `--part tune` never opens the held-out file; `--errors` lists the
tuning part's misses (never the held-out part's); `--calibrate` searches search.py's FUSION_WEIGHT and
MATCH_FLOOR by cross-validation on the tuning part (missed behaviour sentences and non-behaviour sentences
matched to a behaviour, each as a share of the issue's budget for it: 5 % and 2 %).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.knowledge import factory  # noqa: E402
from server.knowledge import search as search_rules  # noqa: E402
from server.knowledge.message_model import MessageModel, OwnerMessage, load_examples  # noqa: E402
from server.knowledge.search import KnowledgeSearch  # noqa: E402
from server.knowledge.triage import Category  # noqa: E402

KNOWLEDGE = ROOT / "data/knowledge"
HELDOUT = ROOT / "bench/data/eval/triage_heldout.yaml"
NON_BEHAVIOUR = ("health", "dog_related", "off_topic", "vague")
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench-triage")


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
    hard_hits: dict[bool, list[int]] = field(default_factory=lambda: {False: [0, 0], True: [0, 0]})  # behaviour lines

    def add(self, other: Tally) -> None:
        for counter in fields(self):
            if counter.type == "int":
                setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))
        for label, (ok, n) in other.per_label.items():
            self.per_label[label][0] += ok
            self.per_label[label][1] += n
        for hard, (ok, n) in other.hard_hits.items():
            self.hard_hits[hard][0] += ok
            self.hard_hits[hard][1] += n


def load(part: str) -> list[dict[str, Any]]:
    path = KNOWLEDGE / "owner_messages.yaml" if part == "tune" else HELDOUT
    items: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    return items


def slugs_of(item: dict[str, Any]) -> list[str]:
    label = item["label"]
    return [label] if isinstance(label, str) else list(label)


def expected_category(label: str | list[str]) -> str:
    return label if isinstance(label, str) and label in NON_BEHAVIOUR else Category.BEHAVIOUR.value


def folds(items: list[dict[str, Any]]) -> list[list[int]]:
    """One index list per set (`set: v0`, `v1`, ... `t8`): leave one set out.

    A set was written in one sitting, often by one writer; holding out whole sets keeps a writer's
    habits out of the model that judges them, as with a fresh held-out set (random folds flatter it).
    """
    by_set: dict[str, list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        by_set[item["set"]].append(k)
    return [by_set[name] for name in sorted(by_set)]


def fold_search(knowledge: factory.Knowledge, train: list[dict[str, Any]]) -> KnowledgeSearch:
    """A search like the server's whose message model learns only from `train` (and the base's own texts)."""
    behaviors = knowledge.store.base.behaviors
    dialect = knowledge.search.dialect
    messages = [OwnerMessage(dialect.standard(i["text"]), tuple(slugs_of(i)), i["lang"]) for i in train]
    categories = load_examples(KNOWLEDGE / "triage.yaml")
    assert knowledge.search.messages is not None
    model = MessageModel(
        lambda: behaviors,
        _POOL,
        categories={category: [dialect.standard(t) for t in texts] for category, texts in categories.items()},
        messages=messages,
        vectors=knowledge.search.messages.vectors,
    )
    return KnowledgeSearch(
        knowledge.retriever, knowledge.search.topic, behaviors=lambda: behaviors, messages=model, dialect=dialect
    )


async def evaluate(
    search: KnowledgeSearch, items: list[dict[str, Any]], tally: Tally, errors: list[str] | None
) -> None:
    for item in items:
        label, slugs = item["label"], slugs_of(item)
        result = await search.search(item["text"], 3)
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
            tally.hard_hits[bool(item.get("hard"))][0] += hit
            tally.hard_hits[bool(item.get("hard"))][1] += 1
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


async def cross_validated(
    knowledge: factory.Knowledge, items: list[dict[str, Any]], errors: list[str] | None
) -> tuple[dict[str, Tally], dict[tuple[str, str], Tally]]:
    """Per language, the tally of every item searched by a model that never saw it; and the same per set and
    language (a set added to the data changes the totals by its own fold: its neighbours' rows show its effect)."""
    tallies = {"de": Tally(), "en": Tally()}
    by_set: dict[tuple[str, str], Tally] = {}
    for held in folds(items):
        held_set = set(held)
        search = fold_search(knowledge, [item for k, item in enumerate(items) if k not in held_set])
        for lang, tally in tallies.items():
            own = by_set.setdefault((items[held[0]]["set"], lang), Tally())
            await evaluate(search, [items[k] for k in held if items[k]["lang"] == lang], own, errors)
            tally.add(own)
    return tallies, by_set


@dataclass(frozen=True)
class Scored:
    """One tuning sentence as the fusion rule sees it (from a model that never saw it)."""

    expected: str
    slugs: tuple[str, ...]
    values: dict[str, float]
    confidences: dict[str, float]


async def score(knowledge: factory.Knowledge, items: list[dict[str, Any]]) -> list[Scored]:
    found = []
    for held in folds(items):
        held_set = set(held)
        search = fold_search(knowledge, [item for k, item in enumerate(items) if k not in held_set])
        assert search.messages is not None
        for k in held:
            text = search.dialect.standard(items[k]["text"])
            ranked = await knowledge.retriever.search(text, search_rules.FUSION_CANDIDATES)
            found.append(
                Scored(
                    expected=expected_category(items[k]["label"]),
                    slugs=tuple(slugs_of(items[k])),
                    values=await search.messages.scores(text),
                    confidences={m.id: m.score for m in ranked},
                )
            )
    return found


# The targets: at most 5 % of behaviour sentences missed (recall@1 >= 0.95), at most 2 % of the others
# matched to a behaviour. The calibration weighs each error by its target, so a false match of the fewer
# non-behaviour sentences costs as much as it uses of its smaller budget.
MISS_BUDGET = 0.05
FALSE_BUDGET = 0.02


def calibrate(scored: list[Scored]) -> None:
    """Print the fusion weights and match floors with the lowest cost (cross-validated tuning part): missed
    behaviour sentences over 5 % of them plus false matches over 2 % of the others, each as a share of its budget."""
    behaviour = Category.BEHAVIOUR.value
    behaviours = sum(s.expected == behaviour for s in scored)
    others = len(scored) - behaviours
    rows = []
    for weight in (0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0):
        for step in range(-10, 13):
            floor = step / 10
            missed = false = 0
            for s in scored:
                top = max(s.values, key=lambda owner: s.values[owner])
                ranked = search_rules.fused(s.values, s.confidences, weight=weight)
                matched = top not in NON_BEHAVIOUR and bool(ranked) and ranked[0][0] >= floor
                missed += s.expected == behaviour and not (matched and ranked[0][1] in s.slugs)
                false += s.expected != behaviour and matched
            cost = missed / (MISS_BUDGET * behaviours) + false / (FALSE_BUDGET * others)
            rows.append((round(cost, 3), missed, false, weight, floor))
    print(
        f"{'cost':>6} {'missed':>6} {'false':>5} {'weight':>6} {'floor':>5}"
        f"  ({behaviours} behaviour, {others} other sentences)"
    )
    current = [r for r in rows if r[3] == search_rules.FUSION_WEIGHT and r[4] == search_rules.MATCH_FLOOR]
    for cost, missed, false, weight, floor in [*sorted(rows)[:10], *current]:
        print(f"{cost:>6.3f} {missed:>6} {false:>5} {weight:>6.2f} {floor:>5.2f}")


def ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def print_table(rows: list[tuple[str, str, Tally]]) -> None:
    header = (
        f"{'part':<9} {'lang':<4} {'n':>4} {'recall@1':>8} {'recall@3':>8} {'abstain':>7} "
        f"{'wrong match':>11} {'health->vet':>11} {'category acc':>12}"
    )
    print(header)
    for part, lang, t in rows:
        print(
            f"{part:<9} {lang:<4} {t.total:>4} {ratio(t.hit1, t.behaviour):>8} {ratio(t.hit3, t.behaviour):>8} "
            f"{ratio(t.abstained, t.behaviour):>7} {t.wrongly_matched:>4}/{t.others:<3}"
            f" {ratio(t.wrongly_matched, t.others):>5}"
            f" {ratio(t.health_to_vet, t.health):>11} {ratio(t.correct_category, t.total):>12}"
        )
    print()
    print(f"{'part':<9} {'lang':<4} " + " ".join(f"{c:>11}" for c in (Category.BEHAVIOUR.value, *NON_BEHAVIOUR)))
    for part, lang, t in rows:
        cells = [t.per_label.get(c, [0, 0]) for c in (Category.BEHAVIOUR.value, *NON_BEHAVIOUR)]
        print(f"{part:<9} {lang:<4} " + " ".join(f"{ratio(ok, n):>6} ({n:>3})" for ok, n in cells))
    print()
    print(f"{'part':<9} {'lang':<4} {'recall@1 of plain behaviour lines':>34} {'of hard ones':>14}")
    for part, lang, t in rows:
        cells = [t.hard_hits[hard] for hard in (False, True)]
        print(f"{part:<9} {lang:<4} {ratio(*cells[0]):>27} ({cells[0][1]:>4}) {ratio(*cells[1]):>7} ({cells[1][1]:>4})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the tuning part's misses")
    parser.add_argument("--part", choices=("tune", "heldout", "both"), default="both", help="which part to run")
    parser.add_argument("--by-set", action="store_true", help="also print the tuning part's rows per set")
    parser.add_argument("--calibrate", action="store_true", help="search FUSION_WEIGHT and MATCH_FLOOR")
    args = parser.parse_args()
    rows: list[tuple[str, str, Tally]] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = await factory.build(KNOWLEDGE, Path(tmp) / "overlay", ROOT / "var/cache")
        if args.calibrate:
            calibrate(await score(knowledge, load("tune")))
            return
        started, queries = time.perf_counter(), 0
        if args.part in ("tune", "both"):
            items = load("tune")
            queries += len(items)
            tallies, by_set = await cross_validated(knowledge, items, errors if args.errors else None)
            rows += [("tune (cv)", lang, tally) for lang, tally in tallies.items()]
            if args.by_set:
                rows += [(f"cv {name}", lang, tally) for (name, lang), tally in sorted(by_set.items()) if tally.total]
        if args.part in ("heldout", "both"):
            items = load("heldout")
            queries += len(items)
            for lang in ("de", "en"):
                tally = Tally()
                await evaluate(knowledge.search, [i for i in items if i["lang"] == lang], tally, None)
                rows.append(("heldout", lang, tally))
        elapsed = time.perf_counter() - started
    print_table(rows)
    print(f"\n{queries} sentences, {1000 * elapsed / queries:.1f} ms per sentence (one process, no server)")
    print("targets on held-out: recall@1 >= 0.95 de, >= 0.90 en; wrong match <= 0.02; health->vet >= 0.95")
    if errors:
        print("\ntuning-part misses (cross-validated):")
        print("\n".join(errors))


if __name__ == "__main__":
    asyncio.run(main())
