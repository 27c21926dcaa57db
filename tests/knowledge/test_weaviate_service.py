"""KnowledgeService on a server whose retriever is Weaviate (WEAVIATE_URL set), through the REAL
weaviate-client against a local stand-in: the same contract tests as the embedded backend.

No Weaviate server can run on these machines, so tests/support/weaviate_fake.py speaks Weaviate's REST
and gRPC wire protocols and really stores and ranks what the client sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb

from server.app import SERVICE_NAMES, RunningServer, StartupError
from server.knowledge.retrieval.weaviate_schema import COLLECTION
from tests.knowledge import contract
from tests.support.weaviate_fake import FakeWeaviate

StartServer = Callable[..., Awaitable[RunningServer]]


def _on(fake: FakeWeaviate) -> dict[str, Any]:
    return {"WEAVIATE_URL": fake.url, "WEAVIATE_GRPC_PORT": fake.grpc_port}


async def test_unary_search_ranks_and_rejects_off_topic(weaviate_fake: FakeWeaviate, start_server: StartServer) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): the server indexes into Weaviate at start
    and answers from it, keeping the embedded backend's search contract."""
    server = await start_server(**_on(weaviate_fake))
    assert weaviate_fake.objects[COLLECTION], "the server did not index into Weaviate"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        await contract.service_ranks_and_rejects_off_topic(contract.Stub(channel))
    assert "grpc Search" in weaviate_fake.calls


async def test_unary_upsert_takes_effect_and_survives_restart(
    weaviate_fake: FakeWeaviate, start_server: StartServer
) -> None:
    """Uses the wire-protocol fake (no Weaviate server here): admin upserts and deletes reach Weaviate at
    once (index() after each), and a restarted server brings Weaviate back in step."""
    server = await start_server(**_on(weaviate_fake))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        await contract.service_upsert_takes_effect_and_survives_restart(
            contract.Stub(channel), lambda: start_server(**_on(weaviate_fake))
        )
    ids = {obj.properties["behavior_id"] for obj in weaviate_fake.objects[COLLECTION].values()}
    assert "sofa-kratzen" in ids and "leinenziehen" not in ids


async def test_start_fails_when_weaviate_is_unreachable(weaviate_fake: FakeWeaviate, start_server: StartServer) -> None:
    """Uses the wire-protocol fake's stopped ports (no Weaviate server here): start-up fails with one line."""
    await weaviate_fake.stop()
    with pytest.raises(StartupError, match="Weaviate unreachable"):
        await start_server(**_on(weaviate_fake))


async def _first_search_answers(stub: contract.Stub, query: pb.SearchBehaviorsRequest) -> None:
    """The search answers while the fake is up. The fake serves on this test's event loop, which a busy
    machine can starve past the 2 s timeout: an UNAVAILABLE then is retried for up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        try:
            assert (await stub.SearchBehaviors(query, metadata=contract.SERVICE)).matches
            return
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_unary_weaviate_down_mid_run_is_unavailable_without_internals(
    weaviate_fake: FakeWeaviate, start_server: StartServer
) -> None:
    """Uses the wire-protocol fake (no Weaviate server here), stopped while the server runs: a search
    ends with UNAVAILABLE (the client may retry), not INTERNAL, and says nothing of Weaviate; health
    and the other services keep answering. WEAVIATE_TIMEOUT_SECONDS bounds the wait: weaviate-client
    alone retries for 63 s."""
    server = await start_server(**_on(weaviate_fake), WEAVIATE_TIMEOUT_SECONDS=2)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = contract.Stub(channel)
        query = pb.SearchBehaviorsRequest(query=contract.DOORBELL)
        await _first_search_answers(stub, query)
        await weaviate_fake.stop()
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SearchBehaviors(query, metadata=contract.SERVICE)
        assert time.monotonic() - started < 8, "the search waited past WEAVIATE_TIMEOUT_SECONDS"
        health = health_pb2_grpc.HealthStub(channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    text = f"{err.value.details()} {err.value.debug_error_string()}".lower()
    assert "weaviate" not in text and "grpc search" not in text


async def test_health_follows_weaviate_per_service(weaviate_fake: FakeWeaviate, start_server: StartServer) -> None:
    """Uses the wire-protocol fake (no Weaviate server here), stopped while the server runs: the services that
    answer from retrieval turn NOT_SERVING at the next probe; AuthService and the server ("") stay SERVING."""
    server = await start_server(**_on(weaviate_fake), WEAVIATE_TIMEOUT_SECONDS=2)
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    names = ("", *SERVICE_NAMES)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def statuses() -> list[int]:
            return [int((await health.Check(health_pb2.HealthCheckRequest(service=n))).status) for n in names]

        assert await statuses() == [serving] * 4
        await weaviate_fake.stop()
        expected = [serving, serving, not_serving, not_serving]  # "", Auth, Conversation, Knowledge
        for _ in range(100):
            if await statuses() == expected:
                break
            await asyncio.sleep(0.05)
        assert await statuses() == expected
