"""Transparent token refresh against the real server: before expiry, once on UNAUTHENTICATED, shared."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from wuffchat_client import AsyncClient, ConversationState, TokenPair, Unauthenticated

from tests.conftest import StartServer
from tests.support.auth import PASSWORD, bearer


class Seconds:
    """The client's clock (`time.time` by default), moved by hand: the access token's expiry without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def logged_in(target: str, heard: list[TokenPair | None], clock: Seconds | None = None) -> AsyncClient:
    client = AsyncClient(target, on_tokens=heard.append, clock=clock or Seconds())
    email = f"refresh-{uuid.uuid4().hex[:12]}@example.org"
    await client.register(email, PASSWORD)
    await client.login(email, PASSWORD)
    heard.clear()
    return client


async def profile_with(target: str, access_token: str) -> grpc.StatusCode:
    """Call GetProfile with a raw access token; the status code."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        try:
            await stub.GetProfile(auth_service_pb2.GetProfileRequest(), metadata=bearer(access_token))
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK


async def test_unary_refreshes_before_the_access_token_expires(start_server: StartServer) -> None:
    server = await start_server(ACCESS_TOKEN_TTL_SECONDS=1)
    target = f"127.0.0.1:{server.port}"
    heard: list[TokenPair | None] = []
    clock = Seconds()
    async with await logged_in(target, heard, clock) as client:
        first = client.tokens
        assert first is not None and first.access_lifetime == 1
        await client.profile()
        assert heard == []  # still fresh: no refresh
        clock.now += 1.1  # past the access token's lifetime
        profile = await client.profile()
        assert profile.email
        assert len(heard) == 1 and heard[0] == client.tokens
        assert heard[0] is not None and heard[0].refresh_token != first.refresh_token


async def test_unary_refreshes_once_on_unauthenticated(target: str) -> None:
    heard: list[TokenPair | None] = []
    async with await logged_in(target, heard) as client:
        tokens = client.tokens
        assert tokens is not None
        # An access token the server refuses although the client believes it fresh (revoked, key rotated).
        broken = replace(tokens, access_token=tokens.access_token[:-4] + "AAAA")
        assert await profile_with(target, broken.access_token) == grpc.StatusCode.UNAUTHENTICATED
    async with AsyncClient(target, tokens=broken, on_tokens=heard.append) as client:
        assert (await client.profile()).email
        assert len(heard) == 1 and heard[0] is not None
        assert await profile_with(target, heard[0].access_token) == grpc.StatusCode.OK


async def test_stream_refreshes_once_on_unauthenticated(target: str) -> None:
    heard: list[TokenPair | None] = []
    async with await logged_in(target, heard) as client:
        conversation = await client.start_conversation()
        tokens = client.tokens
        assert tokens is not None
    broken = replace(tokens, access_token="not-a-jwt")
    async with AsyncClient(target, tokens=broken, on_tokens=heard.append) as client:
        stream = client.stream_message(conversation.id, "Mein Hund bellt jeden Besucher an der Haustür laut an.")
        turn = await stream.collect()
        assert turn.state is ConversationState.WAIT_FOR_CONFIRMATION
        assert len(heard) == 1


async def test_unary_ended_session_raises_and_drops_tokens(target: str) -> None:
    heard: list[TokenPair | None] = []
    async with await logged_in(target, heard) as client:
        tokens = client.tokens
        assert tokens is not None
        await client.refresh()  # the first refresh token is now spent ...
        await client.refresh()  # ... and so is its successor (no grace for a lost answer any more)
    spent = replace(tokens, access_token="not-a-jwt")
    heard.clear()
    async with AsyncClient(target, tokens=spent, on_tokens=heard.append) as client:
        with pytest.raises(Unauthenticated):
            await client.profile()
        assert client.tokens is None and heard[-1] is None
        with pytest.raises(Unauthenticated):
            await client.refresh()


async def test_unary_concurrent_calls_share_one_refresh(start_server: StartServer) -> None:
    server = await start_server(ACCESS_TOKEN_TTL_SECONDS=1)
    target = f"127.0.0.1:{server.port}"
    heard: list[TokenPair | None] = []
    clock = Seconds()
    async with await logged_in(target, heard, clock) as client:
        clock.now += 1.1
        profiles = await asyncio.gather(*(client.profile() for _ in range(6)))
        assert len({p.user_id for p in profiles}) == 1
        assert len(heard) == 1  # one RefreshToken call for all six
