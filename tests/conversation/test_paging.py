"""Page tokens on their own: the cursor round trip and key rotation (the gRPC-boundary cases, with
rows inserted between pages, are in test_service.py)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from server.conversation.paging import Cursor, PageTokens

OLD, NEW = b"o" * 32, b"n" * 32
CURSOR = Cursor(datetime(2026, 12, 1, 23, 59, 58, 123456, tzinfo=UTC), secrets.token_urlsafe(32))


def test_the_cursor_comes_back_to_the_microsecond() -> None:
    tokens = PageTokens([NEW])
    assert tokens.cursor("user:alice", tokens.issue("user:alice", CURSOR)) == CURSOR


def test_a_token_of_the_previous_key_still_reads_after_rotation() -> None:
    token = PageTokens([OLD]).issue("user:alice", CURSOR)
    assert PageTokens([NEW, OLD]).cursor("user:alice", token) == CURSOR
    assert PageTokens([NEW]).cursor("user:alice", token) is None


def test_a_token_is_bound_to_its_owner() -> None:
    tokens = PageTokens([NEW])
    assert tokens.cursor("user:bob", tokens.issue("user:alice", CURSOR)) is None


def test_only_conversation_ids_make_cursors() -> None:
    with pytest.raises(ValueError, match="conversation id"):
        PageTokens([NEW]).issue("user:alice", Cursor(CURSOR.created_at, "short"))
