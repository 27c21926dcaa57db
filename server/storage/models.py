"""The tables, as SQLAlchemy 2 typed models; migrations/versions must create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, DateTime, Dialect, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from server.storage import sealing
from server.storage.keyring import SealedToken


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC datetime in Python, on every database.

    SQLite keeps no time zone and hands datetimes back naive; they were written as UTC, so they are
    marked UTC here, once, instead of in every reader.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the application only stores aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Sealed(TypeDecorator[Any]):
    """A column that holds only sealed values (server/storage/sealing.py); plain text is refused, so
    no code path can write a personal field unencrypted by mistake."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, SealedToken):
            return value
        raise TypeError("a sealed column takes sealed values only (server/storage/sealing.py)")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return value


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


Base.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class User(Base):
    """An account. The email is stored normalized (lower-case domain, NFC), sealed; `email_index` is its
    keyed blind index (HMAC-SHA-256), which login looks up and which keeps it unique."""

    __tablename__ = "users"
    __sealed__ = sealing.SealedFields(identity=("id",), text=("email",), blind={"email": "email_index"})

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(Sealed())
    email_index: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[str] = mapped_column(String(100), default="user")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    lock_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RefreshTokenFamily(Base):
    """All refresh tokens descending from one login; revoked as a whole on reuse or logout."""

    __tablename__ = "refresh_token_families"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    """One refresh token, stored only as its SHA-256; single use, `successor_id` after rotation."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    family_id: Mapped[str] = mapped_column(ForeignKey("refresh_token_families.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    successor_id: Mapped[str | None] = mapped_column(String(32))
    # the successor token encrypted with a key derived from THIS token (server/auth/refresh.py), so only
    # the holder of this token can get it back within the grace window; never decryptable from the DB alone
    successor_sealed: Mapped[str | None] = mapped_column(String(200))


class LoginThrottle(Base):
    """Failed-login counter of one client IP (per-account counters live on `users`)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None] = mapped_column(index=True)
    lock_count: Mapped[int] = mapped_column(Integer, default=0)


class RevokedToken(Base):
    """Denylisted access-token ids, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiKey(Base):
    """A key for internal services, stored as a hash; `prefix` identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("role IN ('service', 'admin')", name="role"),)


class CaptchaUse(Base):
    """Solved CAPTCHA challenges, so each one is accepted once until it expires."""

    __tablename__ = "captcha_uses"

    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Conversation(Base):
    """A conversation with the dog, owned by one principal; `context` holds the flow's slots (sealed;
    NULL once the sweeper purged them)."""

    __tablename__ = "conversations"
    __sealed__ = sealing.SealedFields(identity=("id",), json=("context",))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(80), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    state: Mapped[int] = mapped_column(Integer)
    context: Mapped[dict[str, Any] | None] = mapped_column(Sealed())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # raised by every turn; a turn applies only to the version it read (two instances never interleave)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Message(Base):
    """One message of a conversation, in order of `seq`; text and steps sealed, identified by
    (conversation_id, seq), the unique key known before the INSERT assigns `id`."""

    __tablename__ = "messages"
    __sealed__ = sealing.SealedFields(identity=("conversation_id", "seq"), text=("text",), json=("steps",))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[int] = mapped_column(Integer)
    kind: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Sealed())
    steps: Mapped[list[str] | None] = mapped_column(Sealed())  # an exercise's steps (INSTRUCTION messages)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_messages_conversation_id_seq", "conversation_id", "seq", unique=True),)


class Feedback(Base):
    """The five feedback answers of one conversation; contact data expires after 90 days. The answers
    and the contact are sealed, identified by (conversation_id, created_at): one feedback per turn."""

    __tablename__ = "feedback"
    __sealed__ = sealing.SealedFields(
        identity=("conversation_id", "created_at"), text=("helped", "perspective", "exercise_fit", "contact")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    helped: Mapped[str | None] = mapped_column(Sealed())
    perspective: Mapped[str | None] = mapped_column(Sealed())
    exercise_fit: Mapped[str | None] = mapped_column(Sealed())
    score: Mapped[int | None] = mapped_column(Integer)
    contact: Mapped[str | None] = mapped_column(Sealed())
    contact_delete_after: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),)


class AuditEvent(Base):
    """A security event; `hash` = SHA-256 over the row's content and `prev_hash` (a chain)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    principal: Mapped[str | None] = mapped_column(String(80), index=True)
    client_ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CryptoMeta(Base):
    """What start-up checks the data keys against (server/storage/data_keys.py): a sealed canary per
    key id that may still seal data (`canary.<id>`) and the sealed blind-index key (`index_key`)."""

    __tablename__ = "crypto_meta"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


sealing.install(Base)
