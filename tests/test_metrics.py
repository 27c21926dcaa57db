"""Prometheus metrics on METRICS_ADDR, scraped over HTTP from a real server after real calls on its port."""

from __future__ import annotations

import asyncio
import urllib.request
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from bench.conversation import TURNS  # a whole conversation, as the benchmark runs it
from interceptors.chain import ChainDependencies, build_chain
from server.app import RunningServer
from tests.support.auth import PASSWORD, api_key, bearer, rate_limits, signed_up, solved_captcha
from tests.support.chat_completions import fake_openai
from tests.support.clock import Clock
from tests.support.servers import Servers

AUTH = "wuffchat.auth.v1.AuthService"
CONVERSATION = "wuffchat.conversation.v1.ConversationService"


def serving(servers: Servers, **env: Any) -> AbstractAsyncContextManager[tuple[RunningServer, grpc.aio.Channel]]:
    """A server of the test's `servers` with metrics on a free port, and a channel to it."""
    return servers.serving(METRICS_ADDR="127.0.0.1:0", **env)


async def scrape(running: RunningServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the endpoint, keyed by (name, labels)."""
    assert running.metrics_port is not None
    # grpc.aio's abort sends the status before the handler's stack (and the metrics step's `finally`)
    # unwinds: give the last call's counting a moment
    await asyncio.sleep(0.2)

    def fetch() -> str:
        url = f"http://127.0.0.1:{running.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain")
            return str(reply.read().decode())

    text = await asyncio.to_thread(fetch)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grpc_labels(service: str, method: str, kind: str = "unary") -> dict[str, str]:
    return {"grpc_type": kind, "grpc_service": service, "grpc_method": method}


async def test_unary_standard_grpc_metrics_count_each_call_with_the_code_the_client_got(
    servers: Servers,
) -> None:
    async with serving(servers, RATE_LIMITS=rate_limits("100000/minute", GetCaptcha="3/minute")) as (
        running,
        channel,
    ):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        codes = []
        for _ in range(5):
            try:
                await stub.GetCaptcha(auth_pb.GetCaptchaRequest())
                codes.append("OK")
            except grpc.aio.AioRpcError as err:
                codes.append(err.code().name)
        assert codes == ["OK"] * 3 + ["RESOURCE_EXHAUSTED"] * 2
        samples = await scrape(running)

    labels = grpc_labels(AUTH, "GetCaptcha")
    assert value(samples, "grpc_server_started_total", **labels) == 5
    assert value(samples, "grpc_server_handled_total", **labels, grpc_code="OK") == 3
    assert value(samples, "grpc_server_handled_total", **labels, grpc_code="ResourceExhausted") == 2
    assert value(samples, "grpc_server_handling_seconds_count", **labels) == 5
    assert value(samples, "grpc_server_handling_seconds_bucket", **labels, le="+Inf") == 5
    assert value(samples, "grpc_server_msg_received_total", **labels) == 5
    assert value(samples, "grpc_server_msg_sent_total", **labels) == 3
    # the refusals by method, for the alert rules
    assert value(samples, "wuffchat_rate_limited_total", grpc_service=AUTH, grpc_method="GetCaptcha") == 2
    assert (
        value(
            samples,
            "wuffchat_rpc_refusals_total",
            grpc_service=AUTH,
            grpc_method="GetCaptcha",
            grpc_code="ResourceExhausted",
            reason="rate_limited",
        )
        == 2
    )
    assert value(samples, "wuffchat_health_serving", service="") == 1
    assert value(samples, "wuffchat_dependency_up", dependency="database") == 1


async def test_stream_health_watch_is_a_server_stream_ended_cancelled(servers: Servers) -> None:
    """Watch writes with context.write, past the interceptors: its messages sent are not counted (README)."""
    async with serving(servers) as (running, channel):
        call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await call.read()).status == health_pb2.HealthCheckResponse.SERVING
        call.cancel()
        await asyncio.sleep(0.2)
        samples = await scrape(running)
    labels = grpc_labels("grpc.health.v1.Health", "Watch", "server_stream")
    assert value(samples, "grpc_server_started_total", **labels) == 1
    assert value(samples, "grpc_server_msg_received_total", **labels) == 1
    assert value(samples, "grpc_server_handled_total", **labels, grpc_code="Canceled") == 1


async def test_unary_security_counters_login_failure_captcha_bad_token(servers: Servers) -> None:
    async with serving(servers) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        await signed_up(channel, "metrics@example.org")
        with pytest.raises(grpc.aio.AioRpcError) as wrong_password:
            await stub.Login(
                auth_pb.LoginRequest(
                    email="metrics@example.org", password="not " + PASSWORD, captcha=await solved_captcha(stub)
                )
            )
        assert wrong_password.value.code() == grpc.StatusCode.UNAUTHENTICATED
        bad = await solved_captcha(stub)
        bad.number += 1
        with pytest.raises(grpc.aio.AioRpcError) as bad_captcha:
            await stub.Login(auth_pb.LoginRequest(email="metrics@example.org", password=PASSWORD, captcha=bad))
        assert bad_captcha.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as bad_token:
            await stub.GetProfile(auth_pb.GetProfileRequest(), metadata=bearer("not-a-token"))
        assert bad_token.value.code() == grpc.StatusCode.UNAUTHENTICATED
        samples = await scrape(running)

    assert value(samples, "wuffchat_login_failures_total") == 1
    assert value(samples, "wuffchat_security_events_total", event="authn_login_fail", severity="warning") == 1
    assert value(samples, "wuffchat_captcha_failures_total", grpc_method="Login") == 1
    failures = {
        dict(labels)["grpc_method"]: count
        for (name, labels), count in samples.items()
        if name == "wuffchat_authentication_failures_total"
    }
    assert failures == {"Login": 1, "GetProfile": 1}
    assert value(samples, "wuffchat_login_lockouts_total") == 0
    assert value(samples, "wuffchat_token_reuse_total") == 0


async def test_unary_conversations_started_and_retrieval_timed(servers: Servers) -> None:
    async with serving(servers) as (running, channel):
        stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        started = await stub.StartConversation(conv_pb.StartConversationRequest(language="de"), metadata=api_key())
        await stub.SendMessage(
            conv_pb.SendMessageRequest(
                conversation_id=started.conversation_id, text="Mein Hund bellt, wenn es klingelt"
            ),
            metadata=api_key(),
        )
        await stub.SendMessage(
            conv_pb.SendMessageRequest(conversation_id=started.conversation_id, text="Das Wetter ist heute schön"),
            metadata=api_key(),
        )
        streamed = [
            reply
            async for reply in stub.StreamMessage(
                conv_pb.StreamMessageRequest(conversation_id=started.conversation_id, text="ja"), metadata=api_key()
            )
        ]
        samples = await scrape(running)
    stream_labels = grpc_labels(CONVERSATION, "StreamMessage", "server_stream")
    assert value(samples, "grpc_server_msg_sent_total", **stream_labels) == len(streamed) >= 2
    assert value(samples, "grpc_server_handled_total", **stream_labels, grpc_code="OK") == 1
    assert value(samples, "wuffchat_conversations_started_total") == 1
    assert value(samples, "wuffchat_retrieval_seconds_count", backend="embedded") >= 1
    abstentions = sum(count for (name, _), count in samples.items() if name == "wuffchat_retrieval_abstentions_total")
    assert abstentions >= 1
    labels = grpc_labels(CONVERSATION, "SendMessage")
    assert value(samples, "grpc_server_handled_total", **labels, grpc_code="OK") == 2


async def test_metrics_off_by_default_no_endpoint_no_step(servers: Servers) -> None:
    used: list[list[Any]] = []

    def recording(deps: ChainDependencies) -> list[Any]:
        used.append(build_chain(deps))
        return used[-1]

    async with servers.running(chain_factory=recording) as running:
        assert running.metrics is None and running.metrics_port is None
    assert "MetricsInterceptor" not in [type(step).__name__ for step in used[0]]


async def test_unary_refresh_token_reuse_is_counted(servers: Servers, clock: Clock) -> None:
    async with serving(servers, REFRESH_GRACE_SECONDS=0) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        first = await signed_up(channel, "reuse@example.org")
        await stub.RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=first.refresh_token))
        clock.advance(1)  # past the grace window (none)
        with pytest.raises(grpc.aio.AioRpcError) as err:  # the spent token again: the family is revoked
            await stub.RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=first.refresh_token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        samples = await scrape(running)
    assert value(samples, "wuffchat_token_reuse_total") == 1
    assert value(samples, "wuffchat_security_events_total", event="authn_token_reuse", severity="critical") == 1


async def test_unary_finished_conversation_and_openai_fallback_counted(servers: Servers) -> None:
    """A whole conversation (the bench's turns) ends the feedback: finished; a failing Chat Completions
    endpoint (tests/support/chat_completions.py, answering 500) makes the OpenAI responder fall back."""
    with fake_openai() as fake:
        fake.mode = "500"
        async with serving(
            servers, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=fake.base_url, OPENAI_TIMEOUT_SECONDS=2.0
        ) as (running, channel):
            stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
            started = await stub.StartConversation(conv_pb.StartConversationRequest(language="de"), metadata=api_key())
            states = []
            for text in TURNS:
                reply = await stub.SendMessage(
                    conv_pb.SendMessageRequest(conversation_id=started.conversation_id, text=text), metadata=api_key()
                )
                states.append(reply.state)
            samples = await scrape(running)
    assert states[-1] == conv_pb.CONVERSATION_STATE_GREETING, states
    assert value(samples, "wuffchat_conversations_started_total") == 1
    assert value(samples, "wuffchat_conversations_finished_total") == 1
    assert value(samples, "wuffchat_responder_fallbacks_total", mode="respond") >= 1
