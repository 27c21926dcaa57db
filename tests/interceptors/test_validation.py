"""Validation on a real port: NFC and control-character cleaning before the protovalidate rules,
INVALID_ARGUMENT with BadRequest naming field path and rule, every message of a client stream.

grpcio-testing cannot drive grpc.aio server interceptors, so the cases run on a real grpc.aio server
whose handlers take the real WuffChat request messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.conversation.v1 import conversation_service_pb2 as conv
from wuffchat.knowledge.v1 import knowledge_service_pb2 as kb

from interceptors.context import ContextInterceptor
from interceptors.validation import ValidationInterceptor, _can_break_rules, clean_text, normalize
from tests.support.echo import echo_server

Context = grpc.aio.ServicerContext[Any, Any]
CONVERSATION_ID = "A" * 43


async def _send(request: conv.SendMessageRequest, context: Context) -> bytes:
    return request.text.encode()


async def _upsert(request: kb.UpsertBehaviorRequest, context: Context) -> bytes:
    return b"ok"


async def _collect(requests: AsyncIterator[conv.SendMessageRequest], context: Context) -> bytes:
    return "|".join([r.text async for r in requests]).encode()


def _handlers() -> grpc.GenericRpcHandler[Any, Any]:
    send = conv.SendMessageRequest.FromString
    raw = bytes
    return grpc.method_handlers_generic_handler(
        "test.Validate",
        {
            "Send": grpc.unary_unary_rpc_method_handler(_send, send, raw),
            "Upsert": grpc.unary_unary_rpc_method_handler(_upsert, kb.UpsertBehaviorRequest.FromString, raw),
            "Collect": grpc.stream_unary_rpc_method_handler(_collect, send, raw),
        },
    )


def _server() -> AbstractAsyncContextManager[grpc.aio.Channel]:
    return echo_server([ContextInterceptor(), ValidationInterceptor()], handlers=[_handlers()])


def _send_call(channel: grpc.aio.Channel) -> Any:
    return channel.unary_unary("/test.Validate/Send", request_serializer=conv.SendMessageRequest.SerializeToString)


def _violations(err: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return [(v.field, v.reason) for v in bad.field_violations]


def test_clean_text() -> None:
    assert clean_text("Hund") == "Hund"
    assert clean_text("Cafe\u0301") == "Café"  # NFD -> NFC
    assert clean_text("a\x00b\x1bc\u0085d") == "abcd"
    assert clean_text("zeile1\r\nzeile2\tx") == "zeile1\nzeile2\tx"


def test_clean_text_removes_every_category_c_character() -> None:
    # format (bidi override, zero-width space, BOM), private use and unassigned code points go too
    assert clean_text("x\u202ey\u200bz\ufeff\ue000\u0378!") == "xyz!"
    kept = "tab\tand\nnewline stay, \u00a0 and \u2028 too"
    assert clean_text(kept) == kept


def test_normalize_reaches_nested_and_repeated_strings() -> None:
    request = kb.UpsertBehaviorRequest()
    request.behavior.title = "Bellt\x07"
    request.behavior.phrasings.extend(["a\x00", "Mu\u0308ll"])
    request.behavior.instincts.jagd = "x\x1f"
    normalize(request)
    assert request.behavior.title == "Bellt"
    assert list(request.behavior.phrasings) == ["a", "Müll"]
    assert request.behavior.instincts.jagd == "x"


async def test_unary_handler_receives_cleaned_text() -> None:
    async with _server() as channel:
        reply = await _send_call(channel)(
            conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text="Er bellt\x00!")
        )
    assert reply == b"Er bellt!"


async def test_unary_handler_receives_text_without_format_characters() -> None:
    async with _server() as channel:
        reply = await _send_call(channel)(
            conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text="Er \u202ebellt\u200b!")
        )
    assert reply.decode() == "Er bellt!"


async def test_unary_white_space_only_text_breaks_the_not_blank_rule() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _send_call(channel)(
                conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text=" \u00a0\u3000\t\n\u200b\x00")
            )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err.value) == [("text", "text.not_blank")]


async def test_unary_length_counts_after_nfc() -> None:
    decomposed = "e\u0301" * 2000  # 4000 code points, 2000 after NFC
    async with _server() as channel:
        reply = await _send_call(channel)(conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text=decomposed))
    assert reply.decode() == "\u00e9" * 2000


async def test_unary_only_control_characters_is_empty_and_invalid() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _send_call(channel)(conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text="\x00\x01\x7f"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "Die Anfrage ist ungültig."
    assert _violations(err.value) == [("text", "string.min_len")]


async def test_unary_too_long_and_bad_id_name_both_fields() -> None:
    async with _server() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _send_call(channel)(conv.SendMessageRequest(conversation_id="short", text="x" * 2001))
    assert sorted(_violations(err.value)) == [("conversation_id", "string.len"), ("text", "string.max_len")]


async def test_unary_nested_path_names_the_index() -> None:
    request = kb.UpsertBehaviorRequest()
    request.behavior.id = "bellt-an-der-leine"
    request.behavior.phrasings.append("")
    async with _server() as channel:
        upsert = channel.unary_unary(
            "/test.Validate/Upsert", request_serializer=kb.UpsertBehaviorRequest.SerializeToString
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await upsert(request)
    fields = dict(_violations(err.value))
    assert "behavior.phrasings[0]" in fields
    assert "behavior.title" in fields


async def test_stream_every_client_message_is_checked() -> None:
    async def requests(*texts: str) -> AsyncIterator[conv.SendMessageRequest]:
        for text in texts:
            yield conv.SendMessageRequest(conversation_id=CONVERSATION_ID, text=text)

    async with _server() as channel:
        collect = channel.stream_unary(
            "/test.Validate/Collect", request_serializer=conv.SendMessageRequest.SerializeToString
        )
        assert await collect(requests("a\x00", "b")) == b"a|b"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await collect(requests("gut", "", "nie gelesen"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err.value) == [("text", "string.min_len")]


def test_requests_that_cannot_break_a_rule_only_check_the_decoding() -> None:
    validation = ValidationInterceptor()
    assert not _can_break_rules(auth_pb.GetCaptchaRequest.DESCRIPTOR)  # no fields, no options: decoding only
    assert _can_break_rules(auth_pb.LoginRequest.DESCRIPTOR)
    assert validation.applies("/wuffchat.auth.v1.AuthService/Login")
    assert validation.applies("/wuffchat.knowledge.v1.KnowledgeService/SearchBehaviors")
    assert validation.applies("/test.Echo/Unary")  # unknown to the descriptor pool: checked, to be safe
    assert not ValidationInterceptor(applies=lambda method: False).applies("/wuffchat.auth.v1.AuthService/Login")
