"""The server image copies every module its commands import from scripts/: read from the Dockerfile, no
Docker engine needed.

The image copies scripts/ file by file (the rest of scripts/ is build tooling), so a new module that
scripts/render_envoy.py imports (the Envoy image renders its configuration with it) or that the server's
own entry (`python -m server`, and the HEALTHCHECK's scripts/healthcheck.py) imports would be missing in
the image while every test outside a container passes. The imports are followed through scripts/ the way
Python resolves them: `from scripts import x`, `scripts.x`, and the bare `import x` of a script run as
`python scripts/render_envoy.py`; a local package they import (server/, interceptors/, rpc/) must be
copied too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# What the image runs: the Envoy image's renderer, the server's entry, the HEALTHCHECK.
ENTRIES = (SCRIPTS / "render_envoy.py", ROOT / "server" / "__main__.py", SCRIPTS / "healthcheck.py")


def copied_sources(dockerfile: str) -> set[str]:
    """The build-context paths the Dockerfile's COPY instructions take (not those `--from` another stage)."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found: set[str] = set()
    for line in joined.splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        found |= {word.rstrip("/") for word in words[1:-1] if not word.startswith("--")}
    return found


def _imports(path: Path) -> Iterator[str]:
    """Every module name `path` imports (absolute imports; `from scripts import x` gives scripts.x)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _local(name: str, importer: Path) -> Path | None:
    """The file of the repository that `name` names, as imported from `importer`; None for others."""
    parts = name.split(".")
    if parts[0] == "scripts" and len(parts) > 1:
        file = SCRIPTS / f"{parts[1]}.py"
        return file if file.is_file() else None
    if importer.parent == SCRIPTS and (SCRIPTS / f"{parts[0]}.py").is_file():  # a script run by its path
        return SCRIPTS / f"{parts[0]}.py"
    package = ROOT / parts[0]
    return package if (package / "__init__.py").is_file() else None


def needed() -> set[Path]:
    """The scripts/ modules and local packages the entries import, directly or through scripts/."""
    seen: set[Path] = set()
    todo = [*ENTRIES, *(ROOT / "server").rglob("*.py")]
    while todo:
        path = todo.pop()
        for name in _imports(path):
            target = _local(name, path)
            if target is None or target in seen:
                continue
            seen.add(target)
            if target.suffix == ".py":
                todo.append(target)
    return seen | {entry for entry in ENTRIES if entry.parent == SCRIPTS}


def missing(dockerfile: str) -> list[str]:
    """What the image needs that `dockerfile` does not copy, as paths in the build context."""
    sources = copied_sources(dockerfile)
    gaps = []
    for path in sorted(needed()):
        relative = path.relative_to(ROOT).as_posix()
        if not any(relative == source or relative.startswith(source + "/") for source in sources):
            gaps.append(relative)
    return gaps


def test_the_image_copies_every_module_its_commands_import() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert missing(dockerfile) == [], "add them to the Dockerfile's COPY of scripts/"


def test_the_import_walk_reaches_every_renderer_module() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in needed()}
    expected = {"envoy_tls", "envoy_stats", "envoy_fleet", "envoy_tracing", "render_envoy", "healthcheck"}
    assert {f"scripts/{name}.py" for name in expected} <= names
    assert {"server", "interceptors", "rpc"} <= names
    assert "scripts/k8s.py" not in names and "scripts/image.py" not in names  # build tooling stays out


@pytest.mark.parametrize("module", ["scripts/envoy_tracing.py", "scripts/envoy_tls.py", "scripts/healthcheck.py"])
def test_a_dockerfile_without_a_module_fails(module: str) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert module in dockerfile
    assert missing(dockerfile.replace(f" {module}", "")) == [module]


def test_a_dockerfile_without_a_package_fails() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert missing(dockerfile.replace("COPY rpc/ rpc/\n", "")) == ["rpc"]
