"""The Weaviate backend against a REAL Weaviate server, when one is configured.

Set WEAVIATE_TEST_URL (and WEAVIATE_TEST_GRPC_PORT, default 50051) to run it. Without the variable the
test is deselected at collection time by tests/knowledge/conftest.py (marker `weaviate_live`), not
skipped, because tests/conftest.py turns every skip into a failure when CI=true. It uses a collection
of its own and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from server.knowledge.retrieval.weaviate_schema import passage_texts
from tests.knowledge import contract
from tests.knowledge.weaviate_support import behaviors, weaviate_retriever

pytestmark = pytest.mark.weaviate_live


async def test_live_weaviate_keeps_the_retrieval_contract(embedding_cache: Path) -> None:
    """Runs against the real server at WEAVIATE_TEST_URL: load, the shared contract, index() in step."""
    url = os.environ["WEAVIATE_TEST_URL"]
    grpc_port = int(os.environ.get("WEAVIATE_TEST_GRPC_PORT", "50051"))
    name = f"WuffchatTest{uuid.uuid4().hex[:12]}"
    base = behaviors()
    async with weaviate_retriever(url, grpc_port, embedding_cache, collection=name) as retriever:
        try:
            assert await retriever.load(base) == sum(len(passage_texts(b)) for b in base)
            await contract.retriever_ranks(retriever)
            await retriever.index([b for b in base if b.id != "leinenziehen"])
            found = await retriever.search("er zieht an der leine", 5)
            assert "leinenziehen" not in [m.id for m in found]
        finally:
            await retriever.drop()
