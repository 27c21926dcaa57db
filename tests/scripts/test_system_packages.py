"""`make test`'s system packages (scripts/system_packages.py): what is missing is installed, announced on
the terminal, and said plainly when it cannot be installed; nothing is uninstalled to test it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import system_packages
from scripts.render_envoy import ROOT
from scripts.system_packages import BY_NAME, PACKAGES, ensure, missing


def _present_except(*absent: str) -> system_packages.Exists:
    files = {pattern for package in PACKAGES if package.name not in absent for pattern in package.files}
    return lambda pattern: pattern in files


def test_missing_finds_chromium_by_its_binary() -> None:
    assert missing(PACKAGES, _present_except()) == []
    assert [p.name for p in missing(PACKAGES, _present_except("chromium"))] == ["chromium"]


def test_ensure_installs_what_is_missing_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[list[str]] = []
    present = _present_except("chromium", "redis-server")

    def install(packages: list[system_packages.Package], say: object) -> bool:
        installed.append([p.name for p in packages])
        assert callable(say)
        say(f"installing Debian packages {system_packages.describe(packages)}")
        return True

    monkeypatch.setattr(system_packages, "install", install)
    said: list[str] = []
    ensure(PACKAGES, said.append, exists=present, root=True)
    assert installed == [["chromium", "redis-server"]]
    assert said == ["installing Debian packages chromium (browser tests, tests/web/), redis-server (Redis tests)"]


def test_ensure_without_root_names_the_command_and_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_packages, "install", lambda *_: pytest.fail("installed without root"))
    said: list[str] = []
    still = ensure([BY_NAME["chromium"]], said.append, exists=_present_except("chromium"), root=False)
    assert [p.name for p in still] == ["chromium"]
    assert said == [
        "missing Debian packages chromium (browser tests, tests/web/); their tests skip. "
        "Install them as root: apt-get install -y chromium"
    ]


def test_ensure_with_everything_present_says_nothing() -> None:
    said: list[str] = []
    assert ensure(PACKAGES, said.append, exists=_present_except(), root=True) == []
    assert said == []


def test_dry_run_on_this_machine_installs_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/system_packages.py", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in done.stderr.splitlines():
        assert line.startswith("make test: would install Debian packages "), line


def test_make_test_runs_it_first() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ntest: system-packages lint web\n" in makefile
