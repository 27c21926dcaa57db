"""Per-call facts in a contextvar: request id, client IP, language, principal.

The context interceptor creates a `CallState` for every call; the authentication interceptor fills
in `principal`. Handlers read them with `current()` instead of re-parsing metadata.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc


@dataclass(frozen=True)
class Principal:
    """Who calls: a user (Bearer token) or an internal service (API key)."""

    id: str
    kind: str  # "user" or "apikey"
    roles: frozenset[str] = frozenset()
    token_id: str | None = None  # the access token's jti, for logout
    session_id: str | None = None  # the login session (refresh-token family) of a user's access token

    @property
    def owner_key(self) -> str:
        """A stable key for ownership checks, unique across kinds."""
        return f"{self.kind}:{self.id}"


@dataclass(slots=True)
class CallState:
    """Mutable facts of one call, shared by every interceptor and the handler."""

    method: str
    request_id: str
    client_ip: str
    language: str = "de"
    user_agent: str = ""
    principal: Principal | None = None
    trailing: list[tuple[str, str | bytes]] = field(default_factory=list)
    # the call's invocation metadata as received, read once (grpc builds it anew on every read)
    metadata: Sequence[tuple[str, Any]] = ()
    # the message key of `rpc.errors.abort` when the server ended the call with a reason (metrics)
    refusal: str | None = None


_current: contextvars.ContextVar[CallState] = contextvars.ContextVar("wuffchat_call")


def bind(state: CallState) -> contextvars.Token[CallState]:
    return _current.set(state)


def reset(token: contextvars.Token[CallState]) -> None:
    _current.reset(token)


def current() -> CallState:
    """The running call's state.

    Raises:
        LookupError: outside a call that passed the context interceptor.
    """
    return _current.get()


def current_or_none() -> CallState | None:
    """The running call's state, or None outside a call."""
    return _current.get(None)


def note_refusal(reason: str) -> None:
    """Say why the server is ending the running call (metrics count refusals by it); the first reason
    noted stays, so a handler may name a more specific one ("captcha_invalid") before a generic abort."""
    state = _current.get(None)
    if state is not None and state.refusal is None:
        state.refusal = reason


def principal() -> Principal | None:
    """The authenticated principal of the running call, if any."""
    state = _current.get(None)
    return state.principal if state else None


def authenticated() -> Principal:
    """The principal that authentication established, in a method that needs one.

    The chain has refused the call before the handler runs when there is none, so handlers do not
    check again.

    Raises:
        LookupError: no principal: the handler runs without the authentication step (a wiring error,
            which the error interceptor answers with INTERNAL).
    """
    found = principal()
    if found is None:
        raise LookupError("no principal: the method runs without the authentication step")
    return found


def language() -> str:
    """ "de" or "en" for the running call (German outside a call)."""
    state = _current.get(None)
    return state.language if state else "de"


def add_trailing_metadata(
    context: grpc.aio.ServicerContext[object, object], items: Sequence[tuple[str, str | bytes]]
) -> None:
    """Add trailing metadata without dropping what other interceptors added (also kept by `abort`)."""
    state = _current.get(None)
    if state is None:
        context.set_trailing_metadata(tuple(items))
        return
    if state.trailing:
        keys = {key for key, _ in items}
        state.trailing = [(k, v) for k, v in state.trailing if k not in keys]
    state.trailing.extend(items)
    context.set_trailing_metadata(tuple(state.trailing))
