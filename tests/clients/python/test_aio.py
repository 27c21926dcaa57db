"""AsyncClient against the real server on a real port: every method, API keys and user sessions."""

from __future__ import annotations

import uuid

import pytest
from wuffchat_client import (
    AsyncClient,
    ConversationState,
    MessageKind,
    NotFound,
    PermissionDenied,
    Sender,
    TokenPair,
    Unauthenticated,
)

from tests.support.auth import PASSWORD, SERVICE_KEY


def new_email() -> str:
    return f"client-{uuid.uuid4().hex[:12]}@example.org"


async def user_client(target: str, **kwargs: object) -> tuple[AsyncClient, str]:
    """A client logged in as a fresh user."""
    client = AsyncClient(target, **kwargs)  # type: ignore[arg-type]
    email = new_email()
    await client.register(email, PASSWORD)
    await client.login(email, PASSWORD)
    return client, email


async def test_unary_health_serving(target: str) -> None:
    async with AsyncClient(target) as client:
        assert await client.health() == "SERVING"
        assert await client.health("wuffchat.auth.v1.AuthService") == "SERVING"
        with pytest.raises(NotFound):
            await client.health("no.such.Service")


async def test_unary_register_login_profile(target: str) -> None:
    heard: list[TokenPair | None] = []
    async with AsyncClient(target, on_tokens=heard.append) as client:
        email = new_email()
        user_id = await client.register(email, PASSWORD)
        tokens = await client.login(email, PASSWORD)
        assert client.tokens == tokens and heard == [tokens]
        assert tokens.token_type == "Bearer"
        assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)
        profile = await client.profile()
        assert (profile.user_id, profile.email) == (user_id, email)


async def test_unary_refresh_rotates_tokens(target: str) -> None:
    client, _ = await user_client(target)
    async with client:
        before = client.tokens
        assert before is not None
        after = await client.refresh()
        assert after.refresh_token != before.refresh_token and after.access_token != before.access_token
        assert client.tokens == after
        assert (await client.profile()).email


async def test_unary_logout_ends_the_session(target: str) -> None:
    client, _ = await user_client(target)
    async with client:
        tokens = client.tokens
        await client.logout()
        assert client.tokens is None
    async with AsyncClient(target, tokens=tokens) as stale:
        with pytest.raises(Unauthenticated):  # access token denylisted, refresh token revoked
            await stale.profile()
        assert stale.tokens is None


async def test_unary_conversation_methods(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        conversation = await client.start_conversation()
        assert conversation.state is ConversationState.WAIT_FOR_SYMPTOM
        assert [m.kind for m in conversation.messages] == [MessageKind.GREETING, MessageKind.QUESTION]
        assert all(m.sender is Sender.DOG for m in conversation.messages)

        turn = await client.send_message(conversation.id, "Mein Hund zieht beim Spazierengehen ständig an der Leine.")
        assert turn.state is ConversationState.WAIT_FOR_CONFIRMATION
        assert turn.messages and all(m.text for m in turn.messages)

        history = await client.history(conversation.id)
        assert history.id == conversation.id and history.language == "de" and history.expires_at is not None
        texts = [m.text for m in history.messages]
        assert texts[:2] == [m.text for m in conversation.messages]
        assert texts[-len(turn.messages) :] == [m.text for m in turn.messages]
        assert history.messages[2].sender is Sender.USER

        page = await client.list_conversations()
        assert [s.id for s in page.conversations] == [conversation.id] and page.next_page_token == ""

        await client.delete_conversation(conversation.id)
        with pytest.raises(NotFound):
            await client.history(conversation.id)


async def test_stream_message_deltas_then_turn(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY, language="en") as client:
        conversation = await client.start_conversation()
        stream = client.stream_message(conversation.id, "My dog keeps pulling on the leash on every walk.")
        deltas = [delta async for delta in stream]
        assert stream.turn is not None
        assert stream.turn.state is ConversationState.WAIT_FOR_CONFIRMATION
        assert "".join(deltas) == "\n\n".join(m.text for m in stream.turn.messages)
        turn = await client.stream_message(conversation.id, "yes").collect()
        assert turn.state is ConversationState.WAIT_FOR_CONTEXT


async def test_unary_search_behaviors(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        matches = await client.search_behaviors("Mein Hund zieht an der Leine", limit=3)
        assert 1 <= len(matches) <= 3
        assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
        assert all(m.id and m.title for m in matches)
        assert await client.search_behaviors("Quartalsbericht der Buchhaltung") == []


async def test_unary_export_and_delete_account(target: str) -> None:
    client, email = await user_client(target)
    async with client:
        conversation = await client.start_conversation()
        data = await client.export_my_data()
        assert email in str(data)
        assert conversation.id in str(data)
        await client.delete_account(PASSWORD)
        assert client.tokens is None
        with pytest.raises(Unauthenticated):
            await client.login(email, PASSWORD)


async def test_unary_api_key_cannot_use_user_methods(target: str) -> None:
    async with AsyncClient(target, api_key=SERVICE_KEY) as client:
        with pytest.raises(PermissionDenied):
            await client.profile()
        await client.logout()  # no session: nothing to end, no call


async def test_unary_user_owns_conversations(target: str) -> None:
    alice, _ = await user_client(target)
    async with alice, AsyncClient(target, api_key=SERVICE_KEY) as service:
        conversation = await alice.start_conversation()
        with pytest.raises(NotFound):  # another principal: NOT_FOUND, no existence oracle
            await service.history(conversation.id)
        assert (await alice.history(conversation.id)).id == conversation.id
