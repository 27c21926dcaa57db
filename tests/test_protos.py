"""protos/ stands alone: the vendored buf/validate/validate.proto holds the rules the installed validator enforces."""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from protoc import validate_descriptor  # noqa: E402


def _compiled_vendored(tmp_path: Path) -> descriptor_pb2.FileDescriptorProto:
    out = tmp_path / "validate.binpb"
    well_known = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "protoc",
            f"-I{ROOT / 'protos'}",
            f"-I{well_known}",
            f"--descriptor_set_out={out}",
            "buf/validate/validate.proto",
        ]
    )
    assert code == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]


def test_vendored_validate_proto_matches_the_installed_protovalidate(tmp_path: Path) -> None:
    vendored = _compiled_vendored(tmp_path)
    installed = descriptor_pb2.FileDescriptorProto.FromString(validate_descriptor())
    # Only file-level language options (Java/C#/PHP/Ruby package names) may differ: the wheel was
    # generated with Buf's managed mode.
    vendored.ClearField("options")
    installed.ClearField("options")
    assert vendored == installed
