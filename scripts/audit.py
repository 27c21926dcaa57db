"""Known vulnerabilities and static security checks (`make audit`): pip-audit, npm audit, bandit.

pip-audit looks up every package pinned in requirements.lock (no install, no resolution: the lock is the
whole tree) in PyPI's vulnerability data; npm audit sends clients/web/package-lock.json to the npm
registry's advisory endpoint; bandit reads our own code (server, interceptors, the Python client,
scripts) with the skips listed and explained in pyproject.toml `[tool.bandit]`.

Each scanner ends in one line: `<scanner>: ok: ...`, `<scanner>: FAILED: ...` (findings, or the scanner
could not run; details follow, indented) or `<scanner>: NOT CHECKED: ...` when its vulnerability
database cannot be reached, so an offline run never looks like a clean one. Exit code 1 on any FAILED,
and on NOT CHECKED too when AUDIT_REQUIRE_DB=1; otherwise 0. The `--pip-audit`, `--npm` and `--bandit`
options name the executables (the tests pass fakes that print canned reports).
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import shutil
import subprocess  # nosec B404  # the scanners run as child processes
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
WEB = ROOT / "clients" / "web"
BANDIT_TARGETS = ("rpc", "server", "interceptors", "clients/python/src/wuffchat_client", "scripts")
SCANNER_TIMEOUT_SECONDS = 600
# What a scanner prints when it cannot reach its database: pip-audit's ServiceError (any HTTP error but
# 404 from PyPI) and ConnectionError, requests/urllib3 errors, npm's error codes.
UNREACHABLE_MARKERS = (
    "ServiceError",
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "ConnectTimeout",
    "ReadTimeout",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "audit endpoint returned an error",
)
DETAIL_LIMIT = 200

Json = dict[str, Any]


class Outcome(enum.Enum):
    """How one scanner ended."""

    OK = "ok"
    NOT_CHECKED = "NOT CHECKED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Run:
    """What a scanner process left: exit code, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Verdict:
    """One scanner's result: the summary line and, for findings, one indented line each."""

    scanner: str
    outcome: Outcome
    summary: str
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [f"{self.scanner}: {self.outcome.value}: {self.summary}", *(f"  {d}" for d in self.details)]


def _json_object(text: str) -> Json | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:DETAIL_LIMIT] if lines else "no output"


def _unreachable(text: str) -> bool:
    return any(marker in text for marker in UNREACHABLE_MARKERS)


def _not_run(scanner: str, run: Run) -> Verdict:
    """A scanner that printed no report: its database was unreachable, or it failed to run."""
    if _unreachable(run.stderr) or _unreachable(run.stdout):
        reason = _last_line(run.stderr or run.stdout)
        return Verdict(scanner, Outcome.NOT_CHECKED, f"vulnerability database unreachable ({reason})")
    return Verdict(scanner, Outcome.FAILED, f"did not run (exit {run.returncode}: {_last_line(run.stderr)})")


def judge_pip_audit(run: Run) -> Verdict:
    """pip-audit's JSON report (`--format json`) -> ok, FAILED (a known vulnerability) or NOT CHECKED.

    PyPI answers "not found" for a package whose data it cannot give; when that is every locked
    package, the database was not reached.
    """
    scanner = "pip-audit"
    report = _json_object(run.stdout)
    if report is None or not isinstance(report.get("dependencies"), list):
        return _not_run(scanner, run)
    packages: list[Json] = report["dependencies"]
    findings = [
        f"{p['name']} {p.get('version', '?')}: {v.get('id', '?')} (fixed in {', '.join(v.get('fix_versions') or '-')})"
        for p in packages
        for v in p.get("vulns") or []
    ]
    if findings:
        return Verdict(scanner, Outcome.FAILED, f"{len(findings)} known vulnerabilities", tuple(findings))
    if run.returncode != 0:
        return Verdict(scanner, Outcome.FAILED, f"exit {run.returncode} without findings: {_last_line(run.stderr)}")
    skipped = [p for p in packages if p.get("skip_reason")]
    if packages and len(skipped) == len(packages):
        reason = f"none of the {len(packages)} locked packages could be looked up: {skipped[0]['skip_reason']}"
        return Verdict(scanner, Outcome.NOT_CHECKED, f"vulnerability database unreachable ({reason})")
    if skipped:
        summary = f"{len(skipped)} of {len(packages)} locked packages not looked up"
        return Verdict(scanner, Outcome.NOT_CHECKED, summary, tuple(str(p["skip_reason"]) for p in skipped))
    return Verdict(scanner, Outcome.OK, f"{len(packages)} locked packages, no known vulnerabilities")


def judge_npm_audit(run: Run) -> Verdict:
    """npm audit's JSON report (`--json`, report version 2) -> ok, FAILED or NOT CHECKED."""
    scanner = "npm audit"
    report = _json_object(run.stdout)
    if report is None:
        return _not_run(scanner, run)
    if "auditReportVersion" not in report:
        raw_error = report.get("error")
        error: Json = raw_error if isinstance(raw_error, dict) else {}
        message = report.get("message") or error.get("summary") or error.get("code") or _last_line(run.stderr)
        reason = str(message)[:DETAIL_LIMIT]
        if "statusCode" in report or _unreachable(run.stdout + run.stderr):
            return Verdict(scanner, Outcome.NOT_CHECKED, f"vulnerability database unreachable ({reason})")
        return Verdict(scanner, Outcome.FAILED, f"did not run (exit {run.returncode}: {reason})")
    counts: Json = report.get("metadata", {}).get("vulnerabilities", {})
    total = sum(int(n) for severity, n in counts.items() if severity != "total")
    if total:
        levels = ", ".join(f"{severity} {n}" for severity, n in counts.items() if severity != "total" and n)
        details = tuple(
            f"{name} {v.get('range', '')}: {v.get('severity', '?')}"
            for name, v in sorted(report.get("vulnerabilities", {}).items())
        )
        return Verdict(scanner, Outcome.FAILED, f"{total} known vulnerabilities ({levels})", details)
    packages = report.get("metadata", {}).get("dependencies", {}).get("total", "all")
    return Verdict(scanner, Outcome.OK, f"{packages} packages of package-lock.json, no known vulnerabilities")


def judge_bandit(run: Run) -> Verdict:
    """bandit's JSON report (`-f json`) -> ok or FAILED (any finding, or a file it could not parse)."""
    scanner = "bandit"
    report = _json_object(run.stdout)
    if report is None or not isinstance(report.get("results"), list):
        return Verdict(scanner, Outcome.FAILED, f"did not run (exit {run.returncode}: {_last_line(run.stderr)})")
    findings = [
        f"{r.get('filename')}:{r.get('line_number')} {r.get('test_id')} "
        f"({r.get('issue_severity')}/{r.get('issue_confidence')}): {r.get('issue_text')}"
        for r in report["results"]
    ]
    errors = [f"{e.get('filename')}: {e.get('reason')}" for e in report.get("errors") or []]
    if findings or errors:
        summary = f"{len(findings)} findings, {len(errors)} files not scanned"
        return Verdict(scanner, Outcome.FAILED, summary, tuple(findings + errors))
    totals: Json = report.get("metrics", {}).get("_totals", {})
    scanned = f"{totals.get('loc', '?')} lines in {', '.join(BANDIT_TARGETS)}"
    marked = int(totals.get("skipped_tests", 0)) + int(totals.get("nosec", 0))
    return Verdict(scanner, Outcome.OK, f"{scanned}, no findings ({marked} marked nosec)")


def run_scanner(command: Sequence[str], cwd: Path) -> Run:
    """Run one scanner; a missing executable or a hang is a Run that judges as not run."""
    try:
        # Fixed argument lists built in scans(), no shell; the executables are ours or given by the caller.
        done = subprocess.run(  # noqa: S603  # nosec B603
            list(command), cwd=cwd, capture_output=True, text=True, timeout=SCANNER_TIMEOUT_SECONDS, check=False
        )
    except OSError as error:
        return Run(127, "", f"cannot start {command[0]}: {error}")
    except subprocess.TimeoutExpired:
        return Run(124, "", f"{command[0]} did not finish within {SCANNER_TIMEOUT_SECONDS} s")
    return Run(done.returncode, done.stdout, done.stderr)


def _venv_tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pip-audit", default=_venv_tool("pip-audit"), help="pip-audit executable")
    parser.add_argument("--npm", default=shutil.which("npm") or "npm", help="npm executable")
    parser.add_argument("--bandit", default=_venv_tool("bandit"), help="bandit executable")
    return parser.parse_args(argv)


def scans(args: argparse.Namespace) -> list[tuple[Callable[[Run], Verdict], list[str], Path]]:
    """Each scanner's judge, command line and working directory, in the order they run."""
    pip_audit = [args.pip_audit, "-r", str(LOCK), "--disable-pip", "--no-deps", "--vulnerability-service", "pypi"]
    return [
        (judge_pip_audit, [*pip_audit, "--format", "json", "--progress-spinner", "off"], ROOT),
        (judge_npm_audit, [args.npm, "audit", "--json", "--package-lock-only"], WEB),
        (judge_bandit, [args.bandit, "-c", "pyproject.toml", "-r", *BANDIT_TARGETS, "-f", "json", "-q"], ROOT),
    ]


def exit_code(verdicts: Sequence[Verdict], *, require_db: bool) -> int:
    """1 on any FAILED, and on NOT CHECKED when the databases are required; else 0."""
    outcomes = {v.outcome for v in verdicts}
    if Outcome.FAILED in outcomes or (require_db and Outcome.NOT_CHECKED in outcomes):
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    require_db = os.environ.get("AUDIT_REQUIRE_DB") == "1"
    verdicts: list[Verdict] = []
    for judge, command, cwd in scans(args):
        verdict = judge(run_scanner(command, cwd))
        print("\n".join(verdict.lines()), flush=True)
        verdicts.append(verdict)
    code = exit_code(verdicts, require_db=require_db)
    unchecked = [v.scanner for v in verdicts if v.outcome is Outcome.NOT_CHECKED]
    if code:
        required = " (AUDIT_REQUIRE_DB=1: an unreachable database fails)" if require_db and unchecked else ""
        print(f"audit: FAILED{required}")
    elif unchecked:
        print(f"audit: passed, but NOT CHECKED against a vulnerability database: {', '.join(unchecked)}")
    else:
        print("audit: passed")
    return code


if __name__ == "__main__":
    sys.exit(main())
