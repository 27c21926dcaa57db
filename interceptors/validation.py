"""Validation, last before the handler: normalize every string, then check the protovalidate rules.

It runs last so only authenticated, admitted and authorized calls pay for it, and so the handler
receives exactly the message that was checked. Every request message of our services (selector
`is_wuffchat`; each message of a client stream) is first normalized in place: every string field,
recursively (repeated fields and map values too), is NFC-normalized, CRLF becomes LF, and every
character of Unicode category C (controls, format characters such as bidirectional overrides and
zero-width spaces, private-use, surrogate and unassigned code points) other than tab and newline is
removed. This is the server's one text normalization: handlers and storage receive only such text
and do not clean it again. The `buf.validate` rules written in the .proto files then run on the
normalized text, so "1 to 2,000 characters" counts what is stored, and a text that is only white
space afterwards breaks its `text.not_blank` rule.
A message that breaks a rule ends the call with INVALID_ARGUMENT and a `google.rpc.BadRequest`
whose field violations name the field path (`behavior.instincts.jagd`, `phrasings[2]`), the rule id
(`reason`, e.g. `string.max_len`) and protovalidate's description. A message type without fields
and without message options (GetCaptchaRequest) can carry neither text nor a rule: for a method with
such a request only the decoding is checked, and such a message is passed without a call into
protovalidate. A body that did not decode (`rpc.decoding.UNDECODABLE`, any method of our services)
ends the call here too: INVALID_ARGUMENT with one violation of reason `request.undecodable`, and
nothing of the decoder's error (exception, message type) in the answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import protovalidate
from google.protobuf import descriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from rpc import errors
from rpc.decoding import UNDECODABLE

from .base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed

_KEPT_CONTROLS = frozenset("\t\n")  # of category C; \r goes (after CRLF became LF)
_UNDECODABLE = error_details_pb2.BadRequest(
    field_violations=[
        error_details_pb2.BadRequest.FieldViolation(
            reason="request.undecodable", description="the request is not a valid protobuf message"
        )
    ]
)


def clean_text(text: str) -> str:
    """NFC, LF line ends, no character of Unicode category C except tab and newline."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to do
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    if text.isprintable():  # no category C at all (isprintable is False for every C character)
        return text
    return "".join(ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch)[0] != "C")


def normalize(message: Message) -> None:
    """Apply `clean_text` to every string field of `message`, recursively, in place."""
    for field, value in message.ListFields():
        if field.type == descriptor.FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                value[:] = [clean_text(item) for item in value]
            else:
                setattr(message, field.name, clean_text(value))
        elif field.type == descriptor.FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                _normalize_map(field, value)
            elif field.is_repeated:
                for item in value:
                    normalize(item)
            else:
                normalize(value)


def _normalize_map(field: descriptor.FieldDescriptor, mapping: Any) -> None:
    assert field.message_type is not None
    value_field = field.message_type.fields_by_name["value"]
    if value_field.type == descriptor.FieldDescriptor.TYPE_STRING:
        for key in list(mapping):
            mapping[key] = clean_text(mapping[key])
    elif value_field.type == descriptor.FieldDescriptor.TYPE_MESSAGE:
        for key in mapping:
            normalize(mapping[key])


def _can_break_rules(message_type: Any) -> bool:  # a Descriptor, pure-Python or upb
    """False only for a message type with no fields and no options: nothing to normalize or check."""
    return bool(message_type.fields) or message_type.GetOptions().ByteSize() > 0


def field_path(violation: protovalidate.Violation) -> str:
    """`a.b[2].c["k"]` from a violation's field path (empty for message-level rules)."""
    path = violation.proto.field
    parts: list[str] = []
    for element in path.elements if path is not None else ():
        part = element.field_name or ""
        subscript = element.subscript  # a protobuf Oneof: .field is "index" or "<kind>_key"
        if subscript is not None:
            part += f'["{subscript.value}"]' if subscript.field == "string_key" else f"[{subscript.value}]"
        parts.append(part)
    return ".".join(parts)


class ValidationInterceptor(Interceptor):
    """Normalizes and validates request messages; see the module docstring."""

    def __init__(self, *, applies: Callable[[str], bool] | None = None) -> None:
        super().__init__(applies=applies)
        self._validator = protovalidate.Validator()
        self._checked_types: dict[str, bool] = {}  # message full name -> worth checking

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        if info.client_streaming:
            return await proceed(self._each(request, context), context)
        await self._check(request, context)
        return await proceed(request, context)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        if info.client_streaming:
            request = self._each(request, context)
        else:
            await self._check(request, context)
        async for response in proceed(request, context):
            yield response

    async def _each(self, requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
        async for request in requests:
            await self._check(request, context)
            yield request

    async def _check(self, request: Any, context: Context) -> None:
        """Normalize `request`; abort with INVALID_ARGUMENT and a BadRequest when it breaks a rule."""
        if request is UNDECODABLE:
            await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", _UNDECODABLE)
        if not isinstance(request, Message):
            return
        name = request.DESCRIPTOR.full_name
        checked = self._checked_types.get(name)
        if checked is None:
            checked = self._checked_types[name] = _can_break_rules(request.DESCRIPTOR)
        if not checked:
            return
        normalize(request)
        violations = self._validator.collect_violations(request)
        if not violations:
            return
        await errors.abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid_argument",
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=field_path(v), reason=v.proto.rule_id, description=v.proto.message
                    )
                    for v in violations
                ]
            ),
        )
