"""deploy/prometheus/alerts.yaml: every metric it names exists in rpc/metrics.py, and promtool (from
Debian's prometheus package, scripts/promtool.py) checks the rules and runs alerts_test.yaml on them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Histogram

from rpc.metrics import Metrics
from scripts import promtool

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
# words in PromQL that are functions, keywords or label values, not metric names
_PROMQL = {"sum", "min", "max", "rate", "increase", "histogram_quantile", "or", "and"}
_SCRAPED = {"up"}  # made by Prometheus itself for every target


def _sample_names() -> set[str]:
    """Every sample name the server exposes: counters with `_total`, histograms with their three series."""
    metrics = Metrics()
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        elif hasattr(value, "_name"):
            names.add(value._name)
    return names


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((RULES / "alerts.yaml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def _metric_names(expr: str) -> set[str]:
    """The metric names in `expr`: selectors, ranges, grouping clauses and numbers left out."""
    bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr))
    return {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if w not in _PROMQL}


def test_every_rule_is_complete_and_names_only_our_metrics() -> None:
    known = _sample_names() | _SCRAPED
    rules = _rules()
    assert {r["alert"] for r in rules} >= {
        "WuffChatLoginBurstFromOneAddress",
        "WuffChatRefreshTokenReuse",
        "WuffChatHighErrorRate",
        "WuffChatHighLatencyP99",
        "WuffChatInstanceDown",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        named = _metric_names(rule["expr"])
        assert named, rule["alert"]
        assert named <= known, f"{rule['alert']} names unknown metrics: {sorted(named - known)}"


def test_the_name_check_catches_a_typo() -> None:
    assert _metric_names('sum(rate(wuffchat_token_reuse_totl{a="b"}[5m])) > 0') == {"wuffchat_token_reuse_totl"}
    assert "wuffchat_token_reuse_totl" not in _sample_names()


@pytest.fixture(scope="module")
def promtool_path() -> Path:
    try:
        return promtool.path()
    except promtool.UnavailableError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("command", [["check", "rules", "alerts.yaml"], ["test", "rules", "alerts_test.yaml"]])
def test_promtool(promtool_path: Path, command: list[str]) -> None:
    result = subprocess.run([str(promtool_path), *command], cwd=RULES, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
