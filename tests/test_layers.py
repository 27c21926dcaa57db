"""The layers: middleware knows nothing of the app (STYLE.md 13).

`interceptors/` and the bottom package `rpc/` import nothing from `server/` (its services, storage,
configuration); `server/` may import both. Imports are read from the source (ast), so an import
inside a function or under TYPE_CHECKING counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> list[str]:
    """Every absolute module name `path` imports (relative imports stay inside its package)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            names.append(node.module)
    return names


def _imports_of(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imported_modules(path):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)}: {name}")
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("interceptors", ("server",)), ("rpc", ("server", "interceptors"))],
)
def test_lower_layer_imports_nothing_from_above(package: str, forbidden: tuple[str, ...]) -> None:
    assert (ROOT / package).is_dir()
    assert _imports_of(package, forbidden) == []


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from server.config import Settings\n    import server.app\n")
    assert _imported_modules(module) == ["server.config", "server.app"]
