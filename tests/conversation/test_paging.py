"""Page tokens on their own: key rotation and the offset bound (the gRPC-boundary cases are in
test_service.py)."""

from __future__ import annotations

from server.conversation.paging import MAX_OFFSET, PageTokens

OLD, NEW = b"o" * 32, b"n" * 32


def test_a_token_of_the_previous_key_still_reads_after_rotation() -> None:
    token = PageTokens([OLD]).issue("user:alice", 40)
    assert PageTokens([NEW, OLD]).offset("user:alice", token) == 40
    assert PageTokens([NEW]).offset("user:alice", token) is None


def test_an_offset_past_the_bound_is_no_token_even_when_signed() -> None:
    tokens = PageTokens([NEW])
    assert tokens.offset("user:alice", tokens.issue("user:alice", MAX_OFFSET)) == MAX_OFFSET
    assert tokens.offset("user:alice", tokens.issue("user:alice", MAX_OFFSET + 1)) is None
