"""The client's exceptions: one class per gRPC status a caller handles differently, built from google.rpc details.

`from_rpc_error` maps a failed call: INVALID_ARGUMENT -> `InvalidArgument` (BadRequest field violations),
RESOURCE_EXHAUSTED -> `RateLimited` (RetryInfo, QuotaFailure, `retry-after` / `x-ratelimit-*` trailers),
UNAUTHENTICATED -> `Unauthenticated`, PERMISSION_DENIED -> `PermissionDenied`, NOT_FOUND -> `NotFound`,
ALREADY_EXISTS -> `AlreadyExists`, UNAVAILABLE and DEADLINE_EXCEEDED -> `Unavailable`; anything else ->
`WuffChatError`. Where the server names a reason (`google.rpc.ErrorInfo`, domain `wuffchat`), the reason
decides instead of the code (`CONVERSATION_EXPIRED` -> `ConversationExpired`) and is kept as `reason`.
The message is the server's short localized text; nothing else from the call is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One rejected request field (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str
    reason: str = ""  # a protovalidate rule id ("string.min_len") or the server's own reason
    localized_message: str = ""  # google.rpc.LocalizedMessage, when the server sent one
    locale: str = ""


@dataclass(frozen=True)
class QuotaViolation:
    """One exhausted quota (google.rpc.QuotaFailure.Violation)."""

    subject: str
    description: str


class WuffChatError(Exception):
    """A call failed; `code` is the gRPC status, `message` the server's localized text."""

    def __init__(
        self, code: grpc.StatusCode, message: str, *, request_id: str | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.reason = reason  # the server's stable ErrorInfo reason, e.g. "CONVERSATION_EXPIRED"

    def __str__(self) -> str:
        return self.message or self.code.name


class InvalidArgument(WuffChatError):
    """INVALID_ARGUMENT: `field_violations` names each rejected field."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        request_id: str | None = None,
        reason: str | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(code, message, request_id=request_id, reason=reason)
        self.field_violations = field_violations

    def __str__(self) -> str:
        if not self.field_violations:
            return super().__str__()
        fields = "; ".join(f"{v.field}: {v.description}" for v in self.field_violations)
        return f"{super().__str__()} ({fields})"


class Unauthenticated(WuffChatError):
    """UNAUTHENTICATED: no, a wrong or an expired credential (after one transparent refresh)."""


class PermissionDenied(WuffChatError):
    """PERMISSION_DENIED: the principal may not call this method (an API key on a user-only RPC, a role)."""


class NotFound(WuffChatError):
    """NOT_FOUND: the conversation or behaviour does not exist for this principal."""


class AlreadyExists(WuffChatError):
    """ALREADY_EXISTS: the email already has an account."""


class ConversationExpired(WuffChatError):
    """FAILED_PRECONDITION: the conversation expired; start a new one."""


class RateLimited(WuffChatError):
    """RESOURCE_EXHAUSTED: wait `retry_after` seconds; `limit`/`remaining` come from `x-ratelimit-*`."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        request_id: str | None = None,
        reason: str | None = None,
        retry_after: float = 1.0,
        limit: int | None = None,
        remaining: int | None = None,
        quota_violations: tuple[QuotaViolation, ...] = (),
    ) -> None:
        super().__init__(code, message, request_id=request_id, reason=reason)
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining
        self.quota_violations = quota_violations


class Unavailable(WuffChatError):
    """UNAVAILABLE or DEADLINE_EXCEEDED: the server (or a dependency) is unreachable or too slow."""


_BY_CODE: dict[grpc.StatusCode, type[WuffChatError]] = {
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
}


DOMAIN = "wuffchat"
_BY_REASON: dict[str, type[WuffChatError]] = {
    "CONVERSATION_EXPIRED": ConversationExpired,
}


def _details(error: grpc.aio.AioRpcError) -> list[object]:
    """The google.rpc detail messages of the call (empty when absent or inconsistent)."""
    try:
        status: status_pb2.Status | None = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        return []
    if status is None:
        return []
    found: list[object] = []
    for detail in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
            error_details_pb2.QuotaFailure,
        ):
            message = kind()
            if detail.Unpack(message):
                found.append(message)
    return found


def _trailer(metadata: Iterable[Any] | None, key: str) -> str | None:
    for name, value in metadata or ():
        if name == key:
            return value.decode() if isinstance(value, bytes) else value
    return None


def _number(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


def from_rpc_error(error: grpc.aio.AioRpcError) -> WuffChatError:
    """The exception for a failed call (see the module docstring for the mapping)."""
    code = error.code()
    message = error.details() or ""
    trailers = error.trailing_metadata()
    request_id = _trailer(trailers, "x-request-id")
    details = _details(error)
    reason = next(
        (d.reason for d in details if isinstance(d, error_details_pb2.ErrorInfo) and d.domain == DOMAIN), None
    )
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = tuple(
            FieldViolation(v.field, v.description, v.reason, v.localized_message.message, v.localized_message.locale)
            for d in details
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        )
        return InvalidArgument(code, message, request_id=request_id, reason=reason, field_violations=violations)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        retry_after: float | None = None
        for d in details:
            if isinstance(d, error_details_pb2.RetryInfo):
                retry_after = d.retry_delay.seconds + d.retry_delay.nanos / 1e9
        if retry_after is None:
            retry_after = float(_number(_trailer(trailers, "retry-after")) or 1)
        quota = tuple(
            QuotaViolation(v.subject, v.description)
            for d in details
            if isinstance(d, error_details_pb2.QuotaFailure)
            for v in d.violations
        )
        return RateLimited(
            code,
            message,
            request_id=request_id,
            reason=reason,
            retry_after=retry_after,
            limit=_number(_trailer(trailers, "x-ratelimit-limit")),
            remaining=_number(_trailer(trailers, "x-ratelimit-remaining")),
            quota_violations=quota,
        )
    kind = _BY_REASON.get(reason or "") or _BY_CODE.get(code, WuffChatError)
    return kind(code, message, request_id=request_id, reason=reason)
