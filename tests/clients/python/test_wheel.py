"""The client as a package: the wheel `make client` builds installs into a clean venv of every Python 3.11
to 3.13 on this machine, with compatible dependency ranges, and ships no top-level package but its own."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from scripts import client_gen
from scripts.render_envoy import ROOT

CLIENT = ROOT / "clients" / "python"
SUPPORTED = ("3.11", "3.12", "3.13")


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((CLIENT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def test_metadata_supports_3_11_to_3_13_with_ranges() -> None:
    project = _project()
    requires = SpecifierSet(str(project["requires-python"]))
    assert all(requires.contains(f"{version}.0") for version in SUPPORTED)
    dependencies = [Requirement(str(d)) for d in project["dependencies"]]  # type: ignore[attr-defined]
    assert {d.name for d in dependencies} == {"grpcio", "grpcio-health-checking", "grpcio-status", "protobuf"}
    for dependency in dependencies:
        assert all(spec.operator != "==" for spec in dependency.specifier), dependency
        assert any(spec.operator == "<" for spec in dependency.specifier), dependency  # next major excluded


def interpreters() -> dict[str, str]:
    """One interpreter per supported version found here: PATH, /usr/bin, pyenv's versions."""
    found: dict[str, str] = {}
    for version in SUPPORTED:
        candidates = [
            f"/usr/bin/python{version}",
            *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))),
            shutil.which(f"python{version}"),  # last: a pyenv shim may exist for a version it does not enable
        ]
        for candidate in candidates:
            if candidate and os.access(candidate, os.X_OK) and _runs(candidate):
                found[version] = candidate
                break
    return found


def _runs(python: str) -> bool:
    return subprocess.run([python, "-c", "import venv"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh wheel built as `make client` builds it, from a copy of clients/python (the tree stays as it is)."""
    project = tmp_path_factory.mktemp("client") / "python"
    ignore = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "wuffchat", "buf")
    shutil.copytree(CLIENT, project, ignore=ignore)
    client_gen.main(project / "src")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(project)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("wuffchat_client-*.whl")
    return built


def test_wheel_ships_only_its_own_top_level_packages(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-")]
    assert {top for top in tops if not top.endswith(".dist-info")} == {"wuffchat", "wuffchat_client"}
    assert "Requires-Python: >=3.11" in requires


def test_wheel_installs_and_runs_in_a_clean_venv_of_each_python(wheel: Path, tmp_path: Path) -> None:
    found = interpreters()
    assert "3.11" in found, "Python 3.11 is the project's own"
    for version, python in found.items():
        venv = tmp_path / f"venv{version}"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert pip.returncode == 0, f"{version}: {pip.stderr}"
        check = (
            "import importlib.util, wuffchat_client, wuffchat.auth.v1.auth_service_pb2;"
            "from wuffchat_client import Client;"
            "assert importlib.util.find_spec('buf') is None, 'a top-level buf package';"
            "import sys; print(sys.version_info[:2])"
        )
        ran = subprocess.run([str(venv / "bin" / "python"), "-c", check], capture_output=True, text=True, check=False)
        assert ran.returncode == 0, f"{version}: {ran.stderr}"
        assert ran.stdout.strip() == str(tuple(int(p) for p in version.split("."))), ran.stdout
        cli = subprocess.run(
            [str(venv / "bin" / "wuffchat"), "--lang", "en", "--help"], capture_output=True, text=True, check=False
        )
        assert cli.returncode == 0 and cli.stdout.startswith("usage: wuffchat"), f"{version}: {cli.stderr}"
    print(f"wheel tested with Python {', '.join(f'{v} ({p})' for v, p in found.items())}")
