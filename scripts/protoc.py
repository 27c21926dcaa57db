"""Generate Python code, type stubs and a buf image from protos/ (called by `make proto`).

buf.validate is not fetched from the Buf Schema Registry (no network here): its descriptor is taken
from the installed protovalidate package, so the rules always match the validator that enforces them.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "gen" / "python"
BUILD = ROOT / "build"
DEPS = BUILD / "protovalidate.binpb"
IMAGE = BUILD / "wuffchat.binpb"
# protoc sees only protos/wuffchat (through this link): protos/buf/ is the vendored copy of
# buf/validate/validate.proto for a stand-alone `buf build`, while code and image take the installed one.
SOURCES = BUILD / "proto-src"


def validate_descriptor() -> bytes:
    """Return the serialized FileDescriptorProto of buf/validate/validate.proto."""
    spec = importlib.util.find_spec("protovalidate")
    if spec is None or spec.origin is None:
        raise SystemExit("protovalidate is not installed; run `make setup`")
    source = Path(spec.origin).parent / "_gen" / "buf" / "validate" / "validate_pb.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "file_desc":
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, bytes):
                return first.value
    raise SystemExit(f"no descriptor found in {source}")


def _write_deps() -> None:
    files = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
        files.file.add().MergeFromString(module.DESCRIPTOR.serialized_pb)
    files.file.add().MergeFromString(validate_descriptor())
    DEPS.write_bytes(files.SerializeToString())


def _protoc(*args: str) -> None:
    well_known = Path(protoc.__file__).parent / "_proto"
    bindir = Path(sys.executable).parent
    plugins = [f"--plugin=protoc-gen-{name}={bindir / f'protoc-gen-{name}'}" for name in ("mypy", "mypy_grpc")]
    code = protoc.main(["protoc", *plugins, f"--descriptor_set_in={DEPS}", f"-I{SOURCES}", f"-I{well_known}", *args])
    if code != 0:
        raise SystemExit(f"protoc failed ({code}) for {args[-1]}")


def main() -> None:
    BUILD.mkdir(exist_ok=True)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    _write_deps()
    shutil.rmtree(SOURCES, ignore_errors=True)
    SOURCES.mkdir()
    (SOURCES / "wuffchat").symlink_to(PROTOS / "wuffchat", target_is_directory=True)
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "wuffchat").rglob("*.proto"))
    for source in sources:
        _protoc(
            f"--python_out={OUT}", f"--grpc_python_out={OUT}", f"--mypy_out={OUT}", f"--mypy_grpc_out={OUT}", source
        )
    _protoc(f"--python_out={OUT}", f"--mypy_out={OUT}", "buf/validate/validate.proto")
    _protoc("--include_imports", "--include_source_info", f"--descriptor_set_out={IMAGE}", *sources)
    for package in OUT.rglob("*"):
        if package.is_dir():
            (package / "__init__.py").touch()
    (OUT / "wuffchat" / "py.typed").touch()
    print(f"generated {len(sources)} protos into {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
