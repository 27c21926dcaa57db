"""Copy the generated code into the stand-alone client package (called by `make client` and `make proto`).

`gen/python/wuffchat` goes to `clients/python/src/wuffchat`; the generated `buf.validate` code the
contracts import goes under the package's own namespace, `wuffchat/_vendor/buf/validate`, and the
imports are rewritten to it: a top-level `buf` package in the wheel would clash with any other
distribution shipping one. (Not under `wuffchat_client`: its `__init__` imports the contracts, which
would then import it back half-initialized.) (protovalidate's wheel is no substitute: it keeps its `buf.validate` under
`protovalidate/_gen`, generated for another protobuf runtime.) Both copies are git-ignored.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "gen" / "python"
SRC = ROOT / "clients" / "python" / "src"
VENDORED = "wuffchat._vendor"
_IMPORT = re.compile(r"^(\s*)(from|import) buf\.validate\b", re.MULTILINE)


def rewrite(source: str) -> str:
    """`from buf.validate import validate_pb2` -> `from wuffchat._vendor.buf.validate import validate_pb2`."""
    return _IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)} {VENDORED}.buf.validate", source)


def _copy(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py*"):
        if path.suffix in (".py", ".pyi"):
            path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")


def main(src: Path = SRC) -> None:
    """Copy into `src` (the client's src/ directory, or a copy of it)."""
    _copy(GEN / "wuffchat", src / "wuffchat")
    vendored = src / "wuffchat" / "_vendor"
    _copy(GEN / "buf", vendored / "buf")
    (vendored / "__init__.py").write_text('"""Generated code the contracts depend on (scripts/client_gen.py)."""\n')
    shutil.rmtree(src / "buf", ignore_errors=True)  # where older versions put it


if __name__ == "__main__":
    main()
