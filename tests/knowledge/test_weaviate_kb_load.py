"""`python -m server kb-load` as a real process: exit 0 and a loaded collection, 2 without WEAVIATE_URL,
1 when Weaviate is unreachable.

No Weaviate server can run on these machines, so the process talks to tests/support/weaviate_fake.py,
which speaks Weaviate's REST and gRPC wire protocols, through the real weaviate-client.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from server.knowledge.retrieval.weaviate_schema import COLLECTION, passage_texts
from tests.knowledge.weaviate_support import ROOT, behaviors
from tests.support.weaviate_fake import FakeWeaviate


async def _kb_load(env: dict[str, str]) -> tuple[int, str]:
    # asyncio's subprocess keeps the event loop free, so the fake in this loop can answer the child
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "kb-load",
        cwd=ROOT,
        env={k: v for k, v in {**os.environ, **env}.items() if v},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    return process.returncode or 0, output.decode()


async def test_kb_load_loads_and_reloads(weaviate_fake: FakeWeaviate, embedding_cache: Path, tmp_path: Path) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): two runs, one copy of every passage."""
    env = {
        "WEAVIATE_URL": weaviate_fake.url,
        "WEAVIATE_GRPC_PORT": str(weaviate_fake.grpc_port),
        "CACHE_DIR": str(embedding_cache),
        "KNOWLEDGE_OVERLAY_DIR": str(tmp_path / "overlay"),
    }
    expected = sum(len(passage_texts(b)) for b in behaviors())
    for _ in range(2):
        code, output = await _kb_load(env)
        assert code == 0, output
        assert f"{expected} passages" in output
        assert len(weaviate_fake.objects[COLLECTION]) == expected


async def test_kb_load_needs_weaviate_url() -> None:
    """No Weaviate involved: without WEAVIATE_URL the command is a configuration error (exit 2)."""
    code, output = await _kb_load({"WEAVIATE_URL": ""})
    assert code == 2 and "WEAVIATE_URL" in output


async def test_kb_load_fails_when_weaviate_is_unreachable(weaviate_fake: FakeWeaviate, embedding_cache: Path) -> None:
    """Uses the wire-protocol fake's stopped ports (no Weaviate server here): exit 1 with one line."""
    await weaviate_fake.stop()
    env = {"WEAVIATE_URL": weaviate_fake.url, "WEAVIATE_GRPC_PORT": str(weaviate_fake.grpc_port)}
    code, output = await _kb_load({**env, "CACHE_DIR": str(embedding_cache)})
    assert code == 1 and output.strip().splitlines()[-1].startswith("wuffchat: kb-load failed: Weaviate unreachable")
