"""Channel set-up: target parsing, the retry policy for idempotent calls, TLS with a CA file.

The retry and TLS tests need a server that fails on purpose or speaks TLS, which the WuffChat server
does not (TLS ends at Envoy); they use a small grpc.aio server on a real port instead, speaking the
real gRPC protocol to the real client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.knowledge.v1 import knowledge_service_pb2 as knowledge_pb
from wuffchat_client import AsyncClient, Unavailable
from wuffchat_client._channel import (
    IDEMPOTENT_METHODS,
    Endpoint,
    TargetError,
    open_channel,
    parse_target,
    service_config,
)

from tests.support.tls import certificate, tls_health_server


@pytest.mark.parametrize(
    ("target", "tls", "expected"),
    [
        ("127.0.0.1:50051", False, Endpoint("127.0.0.1:50051", False)),
        ("127.0.0.1:50051", True, Endpoint("127.0.0.1:50051", True)),
        ("http://localhost:8080/", False, Endpoint("localhost:8080", False)),
        ("https://chat.example.org", False, Endpoint("chat.example.org:443", True)),
        ("https://chat.example.org:8443", False, Endpoint("chat.example.org:8443", True)),
        ("https://[::1]", False, Endpoint("[::1]:443", True)),
    ],
)
def test_parse_target(target: str, tls: bool, expected: Endpoint) -> None:
    assert parse_target(target, tls=tls) == expected


def test_parse_target_rejects_unknown_schemes_and_tls_over_http() -> None:
    with pytest.raises(TargetError):
        parse_target("ftp://host:1")
    with pytest.raises(TargetError):
        parse_target("http://host:1", tls=True)
    assert parse_target("host:1", ca_file="ca.pem") == Endpoint("host:1", True, "ca.pem")


def test_retry_policy_names_only_existing_read_only_methods() -> None:
    pool = descriptor_pool.Default()
    for service, method in IDEMPOTENT_METHODS:
        if service.startswith("wuffchat."):
            assert pool.FindServiceByName(service).methods_by_name[method]
    config = json.loads(service_config())["methodConfig"][0]
    assert config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    names = {(n["service"], n["method"]) for n in config["name"]}
    assert ("wuffchat.conversation.v1.ConversationService", "SendMessage") not in names
    assert ("wuffchat.auth.v1.AuthService", "Login") not in names


class Flaky:
    """SearchBehaviors fails UNAVAILABLE twice, then answers; SendMessage fails with `send_codes` in turn
    (UNAVAILABLE forever by default), then answers."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {"search": 0, "send": 0}
        self.send_codes: list[grpc.StatusCode] = []

    async def search(self, request: knowledge_pb.SearchBehaviorsRequest, context: Any) -> Any:
        self.calls["search"] += 1
        if self.calls["search"] <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return knowledge_pb.SearchBehaviorsResponse(matches=[knowledge_pb.BehaviorMatch(id="x", title="X", score=1)])

    async def send(self, request: conv_pb.SendMessageRequest, context: Any) -> Any:
        self.calls["send"] += 1
        if not self.send_codes:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        code = self.send_codes.pop(0)
        if code is not grpc.StatusCode.OK:
            await context.abort(code, "conversation changed")
        return conv_pb.SendMessageResponse(state=conv_pb.CONVERSATION_STATE_WAIT_FOR_SYMPTOM)

    def handlers(self) -> list[grpc.GenericRpcHandler[Any, Any]]:
        def unary(fn: Any, request: Any, response: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=request.FromString, response_serializer=response.SerializeToString
            )

        return [
            grpc.method_handlers_generic_handler(
                "wuffchat.knowledge.v1.KnowledgeService",
                {
                    "SearchBehaviors": unary(
                        self.search, knowledge_pb.SearchBehaviorsRequest, knowledge_pb.SearchBehaviorsResponse
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                "wuffchat.conversation.v1.ConversationService",
                {"SendMessage": unary(self.send, conv_pb.SendMessageRequest, conv_pb.SendMessageResponse)},
            ),
        ]


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[Flaky, int]]:
    service = Flaky()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(service.handlers())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield service, port
    await server.stop(0)


async def test_unary_retries_unavailable_on_idempotent_calls_only(flaky: tuple[Flaky, int]) -> None:
    service, port = flaky
    async with AsyncClient(f"127.0.0.1:{port}", api_key="k") as client:
        matches = await client.search_behaviors("Leine")
        assert [m.id for m in matches] == ["x"]
        assert service.calls["search"] == 3
        with pytest.raises(Unavailable):
            await client.send_message("A" * 43, "hallo")
        assert service.calls["send"] == 1  # a message is never sent twice


async def test_a_turn_refused_as_aborted_is_sent_again(flaky: tuple[Flaky, int]) -> None:
    """ABORTED on SendMessage means the server stored nothing (another turn came first): resent."""
    service, port = flaky
    service.send_codes = [grpc.StatusCode.ABORTED, grpc.StatusCode.ABORTED, grpc.StatusCode.OK]
    async with AsyncClient(f"127.0.0.1:{port}", api_key="k") as client:
        await client.send_message("A" * 43, "hallo")
    assert service.calls["send"] == 3


async def test_unary_tls_with_ca_file(tmp_path: Path) -> None:
    cert_path = certificate(tmp_path)
    async with tls_health_server(tmp_path) as port:
        async with AsyncClient(f"https://127.0.0.1:{port}", ca_file=str(cert_path)) as client:
            assert await client.health() == "SERVING"
        async with AsyncClient(f"127.0.0.1:{port}", tls=True, ca_file=str(cert_path)) as client:
            assert await client.health() == "SERVING"
        async with AsyncClient(f"https://127.0.0.1:{port}", timeout=3) as client:
            with pytest.raises(Unavailable):  # the system roots do not trust the self-signed certificate
                await client.health()
        async with AsyncClient(f"127.0.0.1:{port}", timeout=3) as client:
            with pytest.raises(Unavailable):  # plaintext to a TLS port
                await client.health()


def test_unreadable_ca_file_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot read CA file"):
        open_channel(parse_target("127.0.0.1:1", ca_file=str(tmp_path / "missing.pem")))
