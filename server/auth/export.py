"""ExportMyData: everything stored about one user, as JSON (GDPR Art. 15 and 20).

Profile, login sessions, conversations with their messages and feedback, and the user's own audit
events. Secrets are left out: no password hash, no token hashes, no other principal's data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb

from server.auth.accounts import owner_key, roles_of
from server.storage.db import session_factory
from server.storage.models import AuditEvent, Conversation, Feedback, Message, RefreshTokenFamily, User

# 2: state, sender and kind are names (the contract's enum values without their prefix), not numbers;
# the owner's audit events carry a description in words.
EXPORT_VERSION = 2


def _name(enum: Any, value: int, prefix: str) -> str:
    """`WAIT_FOR_SYMPTOM`, `DOG`, `QUESTION`: readable and stable (enum names never change meaning)."""
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


# the audit events of the account in words, beside their OWASP names (the export is for people too)
EVENT_TEXT = {
    "user_created": "account created",
    "authn_login_success": "signed in",
    "authn_login_fail": "failed sign-in",
    "authn_login_lock": "account or address locked after failed sign-ins",
    "authn_token_reuse": "a spent refresh token was presented again; the session family was ended",
    "authn_token_revoked": "signed out",
    "authn_password_change": "password changed",
    "session_created": "session started",
    "authz_fail": "access denied",
    "excess_rate_limit_exceeded": "too many requests",
    "data_export": "personal data exported",
    "conversation_deleted": "conversation deleted",
}


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _conversation(conversation: Conversation, messages: list[Message], feedback: list[Feedback]) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "language": conversation.language,
        "state": _name(conv_pb.ConversationState, conversation.state, "CONVERSATION_STATE_"),
        "created_at": _time(conversation.created_at),
        "updated_at": _time(conversation.updated_at),
        "messages": [
            {
                "seq": m.seq,
                "sender": _name(conv_pb.Sender, m.sender, "SENDER_"),
                "kind": _name(conv_pb.MessageKind, m.kind, "MESSAGE_KIND_"),
                "text": m.text,
                "created_at": _time(m.created_at),
            }
            for m in messages
        ],
        "feedback": [
            {
                "helped": f.helped,
                "perspective": f.perspective,
                "exercise_fit": f.exercise_fit,
                "score": f.score,
                "contact": f.contact,
                "created_at": _time(f.created_at),
            }
            for f in feedback
        ],
    }


async def export_user(engine: AsyncEngine, user: User) -> str:
    """The JSON document for `user` (UTF-8 text, keys sorted)."""
    owner = owner_key(user.id)
    async with session_factory(engine)() as session:
        families = (
            await session.scalars(
                select(RefreshTokenFamily)
                .where(RefreshTokenFamily.user_id == user.id)
                .order_by(RefreshTokenFamily.created_at)
            )
        ).all()
        conversations = (
            await session.scalars(
                select(Conversation)
                .where(or_(Conversation.user_id == user.id, Conversation.owner_id == owner))
                .order_by(Conversation.created_at)
            )
        ).all()
        rendered = []
        for conversation in conversations:
            messages = await session.scalars(
                select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
            )
            feedback = await session.scalars(
                select(Feedback).where(Feedback.conversation_id == conversation.id).order_by(Feedback.id)
            )
            rendered.append(_conversation(conversation, list(messages.all()), list(feedback.all())))
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.principal == owner).order_by(AuditEvent.id))
        ).all()
    document = {
        "export_version": EXPORT_VERSION,
        "profile": {
            "user_id": user.id,
            "email": user.email,
            "roles": sorted(roles_of(user)),
            "created_at": _time(user.created_at),
            "updated_at": _time(user.updated_at),
        },
        "sessions": [
            {
                "id": f.id,
                "created_at": _time(f.created_at),
                "expires_at": _time(f.expires_at),
                "revoked_at": _time(f.revoked_at),
                "revoke_reason": f.revoke_reason,
            }
            for f in families
        ],
        "conversations": rendered,
        "audit_events": [
            {
                "event": e.event,
                "description": EVENT_TEXT.get(e.event, e.event.replace("_", " ")),
                "severity": e.severity,
                "created_at": _time(e.created_at),
                "client_ip": e.client_ip,
                "request_id": e.request_id,
                "details": e.details,
            }
            for e in events
        ],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)
