"""Time in the contracts: a point in time is a `google.protobuf.Timestamp`, a span a `Duration` (AIP-142).

The auth contract predates the rule; its integer fields are listed here as frozen exceptions, so a new
field named like a time must use the well-known types and an old one cannot quietly spread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from google.protobuf import descriptor

from interceptors.policy import SERVICES

POINT = re.compile(r"(_at|_time|^time)$")
SPAN = re.compile(r"(_in|_ttl|_duration|_seconds|_ms|^ttl)$")
TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
LEGACY_INTEGERS = {
    "wuffchat.auth.v1.TokenPair.access_expires_in",
    "wuffchat.auth.v1.TokenPair.refresh_expires_in",
    "wuffchat.auth.v1.GetCaptchaResponse.expires_at",
    "wuffchat.auth.v1.GetProfileResponse.created_at",
}


def _messages(message: descriptor.Descriptor) -> Iterator[descriptor.Descriptor]:
    yield message
    for nested in message.nested_types:
        yield from _messages(nested)


def _fields() -> Iterator[descriptor.FieldDescriptor]:
    files = {service.file for service in SERVICES}
    for file in files:
        for message in file.message_types_by_name.values():
            for each in _messages(message):
                yield from each.fields


def _type(field: descriptor.FieldDescriptor) -> str:
    return field.message_type.full_name if field.message_type is not None else "scalar"


def test_points_in_time_are_timestamps_and_spans_durations() -> None:
    wrong = [
        f"{field.full_name}: {_type(field)}"
        for field in _fields()
        if field.full_name not in LEGACY_INTEGERS
        and (
            (POINT.search(field.name) and _type(field) != TIMESTAMP)
            or (SPAN.search(field.name) and _type(field) != DURATION)
        )
    ]
    assert not wrong, wrong


def test_the_legacy_list_names_fields_that_exist_and_still_break_the_rule() -> None:
    """An exception whose field was removed or fixed must leave the list, so the list only shrinks."""
    by_name = {field.full_name: field for field in _fields()}
    for name in LEGACY_INTEGERS:
        assert name in by_name, name
        assert by_name[name].message_type is None, name


def test_the_rule_sees_the_time_fields_it_should() -> None:
    names = {field.name for field in _fields()}
    assert {"created_at", "updated_at", "expires_at", "access_expires_in"} <= names
