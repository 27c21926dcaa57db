"""Deliberate gRPC errors: a status code, a short localized message, google.rpc details.

Everything that ends a call with an error on purpose goes through `abort`, so messages are German
by default (English with `accept-language: en`) and details are real `google.rpc` types. Every such
error carries a `google.rpc.ErrorInfo` (AIP-193) with domain `wuffchat` and a stable reason, the
message key in upper case (`RATE_LIMITED`, `CONVERSATION_EXPIRED`, `CAPTCHA_INVALID`): clients decide
on the reason, never on the wording, and the wording may change without breaking them.

A backing service a call needs (database, Redis, retrieval backend) that cannot answer is reported
by its adapter as `DependencyUnavailable`, never as a driver's own exception: the error interceptor
turns that one type into UNAVAILABLE without knowing any driver.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

import grpc
import structlog
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from rpc import call

log = structlog.get_logger(__name__)

DETAILS_KEY = "grpc-status-details-bin"
DOMAIN = "wuffchat"  # ErrorInfo.domain of every error we raise
# google.rpc detail types a client may see. DebugInfo is missing on purpose: it carries stack traces.
ALLOWED_DETAIL_TYPES = frozenset(
    f"type.googleapis.com/google.rpc.{name}"
    for name in (
        "BadRequest",
        "ErrorInfo",
        "Help",
        "LocalizedMessage",
        "PreconditionFailure",
        "QuotaFailure",
        "RequestInfo",
        "ResourceInfo",
        "RetryInfo",
    )
)


class DependencyUnavailable(RuntimeError):  # noqa: N818  # a condition, not a bug: the name says which
    """A backing service cannot answer now (unreachable, timed out, refusing work); the caller may retry.

    Raised by the adapter at the boundary (storage, retrieval) with the driver's error as `__cause__`;
    `dependency` names the service ("database", "retrieval"). The message is one line and holds no
    query, parameter or answer of the service.
    """

    def __init__(self, dependency: str, message: str | None = None) -> None:
        super().__init__(message or f"{dependency} unavailable")
        self.dependency = dependency


class DataUnreadable(Exception):  # noqa: N818  # a condition of the stored data, named for what it is
    """Stored data cannot be read back (a sealed value that does not open: altered, moved to another row,
    or its key is missing). Retrying cannot help; the chain answers DATA_LOSS. The message names the place
    and never the value."""


MESSAGES: dict[str, dict[str, str]] = {
    "de": {
        "invalid_argument": "Die Anfrage ist ungültig.",
        "unauthenticated": "Bitte melde dich an.",
        "permission_denied": "Dafür fehlt dir die Berechtigung.",
        "not_found": "Nicht gefunden.",
        "unavailable": "Der Dienst ist gerade nicht erreichbar. Bitte versuche es gleich noch einmal.",
        "internal": "Da ist etwas schiefgelaufen. Referenz: {reference}",
        "rate_limited": "Zu viele Anfragen. Bitte warte {retry_after} Sekunden und versuche es dann noch einmal.",
        "conversation_not_found": "Dieses Gespräch gibt es nicht.",
        "conversation_expired": "Dieses Gespräch ist abgelaufen. Starte einfach ein neues Gespräch, ich freue mich!",
        "conversation_changed": (
            "Das Gespräch hat sich gerade an anderer Stelle weiterbewegt. Schick deine Nachricht bitte noch einmal."
        ),
        "behavior_not_found": "Dieses Verhalten gibt es nicht in der Wissensbasis.",
        # authentication (issue 3)
        "login_failed": "E-Mail-Adresse oder Passwort ist falsch.",
        "login_throttled": "Zu viele fehlgeschlagene Anmeldungen. Bitte warte {retry_after} Sekunden.",
        "session_invalid": "Deine Sitzung ist abgelaufen. Bitte melde dich neu an.",
        "captcha_invalid": "Die Sicherheitsaufgabe ist ungültig oder abgelaufen. Bitte hole eine neue.",
        "email_invalid": "Bitte gib eine gültige E-Mail-Adresse an.",
        "email_taken": "Für diese E-Mail-Adresse gibt es schon ein Konto.",
        "password_too_short": "Das Passwort muss mindestens {min} Zeichen lang sein.",
        "password_too_long": "Das Passwort darf höchstens {max} Zeichen lang sein.",
        "password_common": "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wähle ein anderes.",
        "password_is_email": "Das Passwort darf nicht deine E-Mail-Adresse sein.",
        "password_wrong": "Das Passwort stimmt nicht.",
        "users_only": "Das geht nur mit einem Benutzerkonto.",
        # limits on half-sent calls (issue 12, interceptors/receive_deadline.py)
        "request_timeout": "Die Anfrage kam nicht rechtzeitig vollständig an. Bitte versuche es noch einmal.",
        "server_busy": "Der Dienst ist gerade ausgelastet. Bitte versuche es gleich noch einmal.",
        "data_unreadable": "Diese gespeicherten Daten lassen sich nicht lesen. Referenz: {reference}",
    },
    "en": {
        "invalid_argument": "The request is invalid.",
        "unauthenticated": "Please sign in.",
        "permission_denied": "You are not allowed to do that.",
        "not_found": "Not found.",
        "unavailable": "The service is unavailable right now. Please try again shortly.",
        "internal": "Something went wrong. Reference: {reference}",
        "rate_limited": "Too many requests. Please wait {retry_after} seconds and try again.",
        "conversation_not_found": "This conversation does not exist.",
        "conversation_expired": "This conversation has expired. Just start a new one, I'm looking forward to it!",
        "conversation_changed": "This conversation just moved on elsewhere. Please send your message again.",
        "behavior_not_found": "This behaviour is not in the knowledge base.",
        "login_failed": "Email address or password is wrong.",
        "login_throttled": "Too many failed sign-ins. Please wait {retry_after} seconds.",
        "session_invalid": "Your session has expired. Please sign in again.",
        "captcha_invalid": "The security challenge is invalid or expired. Please get a new one.",
        "email_invalid": "Please enter a valid email address.",
        "email_taken": "An account with this email address exists already.",
        "password_too_short": "The password must be at least {min} characters long.",
        "password_too_long": "The password must be at most {max} characters long.",
        "password_common": "This password is too common and easy to guess. Please choose another one.",
        "password_is_email": "The password must not be your email address.",
        "password_wrong": "The password is not correct.",
        "users_only": "This needs a user account.",
        "request_timeout": "The request did not arrive completely in time. Please try again.",
        "server_busy": "The service is busy right now. Please try again shortly.",
        "data_unreadable": "This stored data cannot be read. Reference: {reference}",
    },
}


def reason(key: str) -> str:
    """The stable ErrorInfo reason of message `key` (UPPER_SNAKE_CASE, as AIP-193 asks)."""
    return key.upper()


def message(key: str, **params: object) -> str:
    """The message `key` in the running call's language."""
    texts = MESSAGES.get(call.language(), MESSAGES["de"])
    return texts.get(key, MESSAGES["de"][key]).format(**params)


def details_allowed(type_urls: Iterable[str]) -> bool:
    """True when every detail type is on the allow-list (`ALLOWED_DETAIL_TYPES`)."""
    return all(url in ALLOWED_DETAIL_TYPES for url in type_urls)


def trailing_details_allowed(trailing: Iterable[tuple[str, str | bytes]]) -> bool:
    """True unless `grpc-status-details-bin` in `trailing` holds a type off the allow-list (or is garbage)."""
    for key, value in trailing:
        if key != DETAILS_KEY:
            continue
        try:
            status = status_pb2.Status.FromString(value if isinstance(value, bytes) else value.encode())
        except Exception:
            return False
        if not details_allowed(detail.type_url for detail in status.details):
            return False
    return True


def to_status(code: grpc.StatusCode, text: str, details: tuple[Message, ...] = ()) -> grpc.Status:
    """A status with packed details; details go only if every type is allowed (else none, logged)."""
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    if not details_allowed(d.type_url for d in packed):
        log.error("status_details_dropped", types=sorted({d.type_url for d in packed}))
        packed = []
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=text, details=packed))


async def abort(
    context: grpc.aio.ServicerContext[object, object],
    code: grpc.StatusCode,
    key: str,
    *details: Message,
    **params: object,
) -> NoReturn:
    """End the call with `code`, the localized message `key`, its ErrorInfo and `details` (google.rpc types).

    Trailing metadata added earlier through `call.add_trailing_metadata` is kept. Details whose
    type is not in `ALLOWED_DETAIL_TYPES` are dropped (all of them), never sent.
    """
    call.note_refusal(key)
    info = error_details_pb2.ErrorInfo(reason=reason(key), domain=DOMAIN)
    status = to_status(code, message(key, **params), (*details, info))
    call.add_trailing_metadata(context, tuple(status.trailing_metadata))
    await context.abort(status.code, status.details)
    raise AssertionError("unreachable: abort raises")
