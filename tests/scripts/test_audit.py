"""scripts/audit.py against fake scanners printing canned reports: clean, findings, unreachable database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit.py"

PIP_CLEAN = {
    "dependencies": [
        {"name": "grpcio", "version": "1.78.2", "vulns": []},
        {"name": "pyjwt", "version": "2.15.1", "vulns": []},
    ],
    "fixes": [],
}
PIP_VULNERABLE = {
    "dependencies": [
        {"name": "grpcio", "version": "1.78.2", "vulns": []},
        {
            "name": "pyjwt",
            "version": "2.15.1",
            "vulns": [{"id": "PYSEC-0000-0", "fix_versions": ["2.15.2"], "aliases": [], "description": "x"}],
        },
    ],
    "fixes": [],
}
# What PyPI's JSON API gives when it has no data for the packages (seen on this machine's registry mirror).
PIP_NOT_FOUND = {
    "dependencies": [
        {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n} (1.0)"}
        for n in ("grpcio", "pyjwt")
    ],
    "fixes": [],
}
PIP_DNS_ERROR = (
    "Traceback (most recent call last):\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded "
    "with url: /pypi/grpcio/1.78.2/json (Caused by NameResolutionError(...))\n"
)
PIP_SERVICE_ERROR = (
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://pypi.org/pypi/grpcio/1.78.2/json\n"
    "The above exception was the direct cause of the following exception:\n"
    "pip_audit._service.interface.ServiceError\n"
)
NPM_CLEAN = {
    "auditReportVersion": 2,
    "vulnerabilities": {},
    "metadata": {
        "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0},
        "dependencies": {"prod": 10, "dev": 20, "total": 30},
    },
}
NPM_VULNERABLE = {
    "auditReportVersion": 2,
    "vulnerabilities": {"esbuild": {"name": "esbuild", "severity": "moderate", "range": "<=0.24.2", "via": []}},
    "metadata": {
        "vulnerabilities": {"info": 0, "low": 0, "moderate": 1, "high": 0, "critical": 0, "total": 1},
        "dependencies": {"total": 30},
    },
}
# npm's answer when the registry does not serve the advisory endpoint (seen on this machine).
NPM_405 = {
    "message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
    "method": "POST",
    "statusCode": 405,
    "body": "",
    "error": {"summary": "", "detail": ""},
}
NPM_DNS_ERROR = {"error": {"code": "ENOTFOUND", "summary": "getaddrinfo ENOTFOUND registry.npmjs.org", "detail": ""}}
NPM_NO_LOCKFILE = {"error": {"code": "ENOLOCK", "summary": "This command requires an existing lockfile.", "detail": ""}}
BANDIT_CLEAN = {"errors": [], "results": [], "metrics": {"_totals": {"loc": 1000, "nosec": 0, "skipped_tests": 2}}}
BANDIT_FINDING = {
    "errors": [],
    "results": [
        {
            "filename": "server/example.py",
            "line_number": 7,
            "test_id": "B602",
            "issue_severity": "HIGH",
            "issue_confidence": "HIGH",
            "issue_text": "subprocess call with shell=True identified, security issue.",
        }
    ],
    "metrics": {"_totals": {"loc": 1000}},
}

Report = dict[str, object]


def _scanner(tmp_path: Path, name: str, stdout: Report | str, *, stderr: str = "", code: int = 0) -> Path:
    """An executable that prints `stdout` (JSON unless a string) and `stderr`, then exits with `code`."""
    text = stdout if isinstance(stdout, str) else json.dumps(stdout)
    path = tmp_path / name
    path.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdout.write({text!r})\nsys.stderr.write({stderr!r})\nsys.exit({code})\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def _audit(
    tmp_path: Path, pip: Path, npm: Path, bandit: Path, *, require_db: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUDIT_REQUIRE_DB"}
    if require_db:
        env["AUDIT_REQUIRE_DB"] = "1"
    command = [sys.executable, str(SCRIPT), "--pip-audit", str(pip), "--npm", str(npm), "--bandit", str(bandit)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)


def _line(output: str, scanner: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(f"{scanner}: ")]
    assert len(lines) == 1, output
    return lines[0]


def test_clean_scanners_pass(tmp_path: Path) -> None:
    done = _audit(
        tmp_path,
        _scanner(tmp_path, "pip-audit", PIP_CLEAN),
        _scanner(tmp_path, "npm", NPM_CLEAN),
        _scanner(tmp_path, "bandit", BANDIT_CLEAN),
    )
    assert done.returncode == 0, done.stdout
    assert _line(done.stdout, "pip-audit") == "pip-audit: ok: 2 locked packages, no known vulnerabilities"
    assert (
        _line(done.stdout, "npm audit") == "npm audit: ok: 30 packages of package-lock.json, no known vulnerabilities"
    )
    assert _line(done.stdout, "bandit").startswith("bandit: ok: 1000 lines in rpc, server, interceptors")
    assert done.stdout.splitlines()[-1] == "audit: passed"


@pytest.mark.parametrize(
    ("pip", "npm"),
    [
        ((PIP_NOT_FOUND, "", 0), (NPM_405, "npm error audit endpoint returned an error\n", 1)),
        (("", PIP_DNS_ERROR, 1), (NPM_DNS_ERROR, "", 1)),
        (("", PIP_SERVICE_ERROR, 1), (NPM_405, "", 1)),
    ],
    ids=["not-found-and-405", "dns", "http-error"],
)
@pytest.mark.parametrize("require_db", [False, True])
def test_unreachable_database_is_one_not_checked_line_per_scanner(
    tmp_path: Path, pip: tuple[Report | str, str, int], npm: tuple[Report, str, int], require_db: bool
) -> None:
    done = _audit(
        tmp_path,
        _scanner(tmp_path, "pip-audit", pip[0], stderr=pip[1], code=pip[2]),
        _scanner(tmp_path, "npm", npm[0], stderr=npm[1], code=npm[2]),
        _scanner(tmp_path, "bandit", BANDIT_CLEAN),
        require_db=require_db,
    )
    for scanner in ("pip-audit", "npm audit"):
        assert _line(done.stdout, scanner).startswith(f"{scanner}: NOT CHECKED: vulnerability database unreachable (")
    assert _line(done.stdout, "bandit").startswith("bandit: ok: ")
    last = done.stdout.splitlines()[-1]
    if require_db:
        assert done.returncode == 1
        assert last == "audit: FAILED (AUDIT_REQUIRE_DB=1: an unreachable database fails)"
    else:
        assert done.returncode == 0
        assert last == "audit: passed, but NOT CHECKED against a vulnerability database: pip-audit, npm audit"


@pytest.mark.parametrize(
    ("scanner", "pip", "npm", "bandit", "detail"),
    [
        (
            "pip-audit",
            (PIP_VULNERABLE, 1),
            (NPM_CLEAN, 0),
            (BANDIT_CLEAN, 0),
            "pyjwt 2.15.1: PYSEC-0000-0 (fixed in 2.15.2)",
        ),
        ("npm audit", (PIP_CLEAN, 0), (NPM_VULNERABLE, 1), (BANDIT_CLEAN, 0), "esbuild <=0.24.2: moderate"),
        ("bandit", (PIP_CLEAN, 0), (NPM_CLEAN, 0), (BANDIT_FINDING, 1), "server/example.py:7 B602 (HIGH/HIGH)"),
    ],
)
def test_findings_fail(
    tmp_path: Path,
    scanner: str,
    pip: tuple[Report, int],
    npm: tuple[Report, int],
    bandit: tuple[Report, int],
    detail: str,
) -> None:
    done = _audit(
        tmp_path,
        _scanner(tmp_path, "pip-audit", pip[0], code=pip[1]),
        _scanner(tmp_path, "npm", npm[0], code=npm[1]),
        _scanner(tmp_path, "bandit", bandit[0], code=bandit[1]),
    )
    assert done.returncode == 1
    assert _line(done.stdout, scanner).startswith(f"{scanner}: FAILED: 1 ")
    assert any(line.startswith(f"  {detail}") for line in done.stdout.splitlines()), done.stdout
    assert done.stdout.splitlines()[-1] == "audit: FAILED"


def test_a_scanner_that_cannot_run_fails(tmp_path: Path) -> None:
    done = _audit(
        tmp_path,
        tmp_path / "no-such-pip-audit",
        _scanner(tmp_path, "npm", NPM_NO_LOCKFILE, code=1),
        _scanner(tmp_path, "bandit", "Traceback (most recent call last):\n", code=2),
    )
    assert done.returncode == 1
    assert _line(done.stdout, "pip-audit").startswith("pip-audit: FAILED: did not run (exit 127: cannot start")
    assert _line(done.stdout, "npm audit") == (
        "npm audit: FAILED: did not run (exit 1: This command requires an existing lockfile.)"
    )
    assert _line(done.stdout, "bandit").startswith("bandit: FAILED: did not run (exit 2")
