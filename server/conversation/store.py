"""Conversations, messages and feedback in the database, written after every turn (one transaction).

Ownership is part of every query: a conversation of another owner is simply not found.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from server.storage import db, sealing
from server.storage.compiled import Compiled
from server.storage.models import Conversation, Feedback, Message
from server.storage.transactions import Transactions

from .paging import Cursor

CONTACT_RETENTION = timedelta(days=90)  # RETENTION_CONTACT_DAYS; server/retention.py clears it


class ConcurrentTurnError(Exception):
    """The conversation changed since its turn was read: nothing of this turn was stored."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} changed during the turn")
        self.conversation_id = conversation_id


def new_id() -> str:
    """32 random bytes, URL-safe base64 without padding (43 characters), never starting with "-".

    An id with a leading "-" is read as an option on a command line (`wuffchat history <id>`).
    """
    while True:
        candidate = secrets.token_urlsafe(32)
        if not candidate.startswith("-"):
            return candidate


@dataclass(frozen=True)
class StoredConversation:
    """A conversation as a turn reads it (its slots opened): a plain row, no ORM instance to track."""

    id: str
    owner_id: str
    user_id: str | None
    language: str
    state: int
    context: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    version: int
    last_seq: int = -1  # the seq of its last message (-1: none), read with `version`


_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_COLUMNS = tuple(_CONVERSATIONS.c[name] for name in StoredConversation.__dataclass_fields__ if name != "last_seq")

_MESSAGE_KEYS = ("conversation_id", "seq", "sender", "kind", "text", "steps", "created_at")

# A turn's statements, built and compiled once: constructing a statement and its cache key anew on every
# call cost as much CPU as running it, and SQLAlchemy's execution path more than SQLite (issue 14's
# profiles; server/storage/compiled.py).
_INSERT_CONVERSATION = Compiled(insert(_CONVERSATIONS), column_keys=[column.name for column in _COLUMNS])
_INSERT_MESSAGES = Compiled(insert(_MESSAGES), column_keys=_MESSAGE_KEYS)
# The last seq comes with the row: a turn's UPDATE applies only to the version it read, and every write
# of messages raises the version, so the seq read here is still the last when that UPDATE succeeds.
_LAST_SEQ = (
    select(func.coalesce(func.max(_MESSAGES.c.seq), -1))
    .where(_MESSAGES.c.conversation_id == _CONVERSATIONS.c.id)
    .scalar_subquery()
    .label("last_seq")
)
_SELECT_CONVERSATION = Compiled(
    select(*_COLUMNS, _LAST_SEQ).where(
        _CONVERSATIONS.c.id == bindparam("id"), _CONVERSATIONS.c.owner_id == bindparam("owner")
    )
)
_UPDATE_TURN = Compiled(
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("row_id"), _CONVERSATIONS.c.version == bindparam("read"))
    .values(
        state=bindparam("new_state"),
        context=bindparam("new_context"),
        updated_at=bindparam("now"),
        expires_at=bindparam("expires"),
        version=bindparam("read") + 1,
    )
)


@dataclass(frozen=True)
class NewMessage:
    sender: int
    kind: int
    text: str
    steps: tuple[str, ...] = ()


class ConversationStore:
    """All conversation persistence in the application's database; a turn's reads and writes go through
    `transactions` (one hop per transaction on SQLite), the rest through its async engine."""

    def __init__(self, transactions: Transactions, *, contact_retention: timedelta = CONTACT_RETENTION) -> None:
        engine = transactions.engine
        self._engine = engine
        self._transactions = transactions
        self._sessions = db.session_factory(engine)
        self._contact_retention = contact_retention
        # SQLite has one writer; queueing writers here is far faster than its busy-wait back-off
        # (which sleeps up to 100 ms per retry). PostgreSQL needs no such lock.
        self._write_lock: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    async def create(
        self,
        *,
        owner: str,
        user_id: str | None,
        language: str,
        state: int,
        context: dict[str, Any],
        messages: Sequence[NewMessage],
        now: datetime,
        ttl: timedelta,
    ) -> StoredConversation:
        """A new conversation and its opening messages, in one transaction of two Core INSERTs (sealed
        here, as save_turn seals)."""
        row = StoredConversation(
            id=new_id(),
            owner_id=owner,
            user_id=user_id,
            language=language,
            state=state,
            context=context,
            created_at=now,
            updated_at=now,
            expires_at=now + ttl,
            version=0,
            last_seq=len(messages) - 1,
        )
        values = {column.name: getattr(row, column.name) for column in _COLUMNS}
        values["context"] = sealing.seal_value(self._engine, Conversation, "context", (row.id,), context)
        rows = self._message_rows(row.id, 0, messages, now)

        def insert_both(connection: Connection) -> None:
            _INSERT_CONVERSATION.execute(connection, values)
            _INSERT_MESSAGES.execute(connection, rows)

        async with self._write_lock:
            await self._transactions.run(insert_both)
        return row

    async def get(self, conversation_id: str, owner: str) -> StoredConversation | None:
        """The conversation `conversation_id` of `owner`, by one Core SELECT (a turn's read: no ORM
        identity map or load events, which cost more CPU than the turn's flow)."""
        parameters = {"id": conversation_id, "owner": owner}
        values = await self._transactions.run(lambda c: _SELECT_CONVERSATION.one_or_none(c, parameters))
        if values is None:
            return None
        where = (values["id"],)
        values["context"] = sealing.open_value(self._engine, Conversation, "context", where, values["context"])
        return StoredConversation(**values)

    async def save_turn(
        self,
        *,
        row: StoredConversation,
        state: int,
        context: dict[str, Any],
        messages: Sequence[NewMessage],
        feedback: dict[str, Any] | None,
        now: datetime,
        ttl: timedelta,
    ) -> None:
        """Store the owner's message and the bot's answer, the new state and slots, and finished feedback.

        One transaction of two SQLAlchemy Core statements (an UPDATE, one multi-row INSERT numbered on from
        the `last_seq` that `get` read),
        sealed here as the ORM events would seal them: the unit of work cost more CPU than the turn's
        flow (issue 14's profile). Only a finished feedback goes through the ORM. The UPDATE applies
        only to the version the turn read, so two turns of one conversation never both apply, whichever
        instances serve them.

        Raises:
            ConcurrentTurnError: the conversation changed since `row` was read; nothing was stored.
        """
        turn = {
            "row_id": row.id,
            "read": row.version,
            "new_state": state,
            "new_context": sealing.seal_value(self._engine, Conversation, "context", (row.id,), context),
            "now": now,
            "expires": now + ttl,
        }
        rows = self._message_rows(row.id, row.last_seq + 1, messages, now)
        finished = None if feedback is None else self._feedback(row.id, feedback, now)

        def write(connection: Connection) -> None:
            # Write first: on SQLite a transaction that reads before it writes cannot wait for the write
            # lock (SQLITE_BUSY at once), one that starts with a write waits up to busy_timeout.
            if _UPDATE_TURN.rowcount(connection, turn) != 1:  # another turn (any instance) came first
                raise ConcurrentTurnError(row.id)
            _INSERT_MESSAGES.execute(connection, rows)
            if finished is not None:
                with Session(bind=connection) as session:  # joins this transaction; the ORM seals the contact
                    session.add(finished)
                    session.flush()

        async with self._write_lock:
            await self._transactions.run(write)

    def _feedback(self, conversation_id: str, answers: dict[str, Any], now: datetime) -> Feedback:
        contact = answers.get("contact")
        return Feedback(
            conversation_id=conversation_id,
            helped=answers.get("helped"),
            perspective=answers.get("perspective"),
            exercise_fit=answers.get("exercise_fit"),
            score=answers.get("score"),
            contact=contact,
            contact_delete_after=now + self._contact_retention if contact else None,
            created_at=now,
        )

    def _message_rows(
        self, conversation_id: str, start: int, messages: Sequence[NewMessage], now: datetime
    ) -> list[dict[str, Any]]:
        """Parameter rows for a Core INSERT of `messages`, text and steps sealed for their (conversation, seq)."""
        rows = []
        for seq, m in enumerate(messages, start=start):
            where = (conversation_id, seq)
            steps = list(m.steps)
            rows.append(
                {
                    "conversation_id": conversation_id,
                    "seq": seq,
                    "sender": m.sender,
                    "kind": m.kind,
                    "text": sealing.seal_value(self._engine, Message, "text", where, m.text),
                    "steps": sealing.seal_value(self._engine, Message, "steps", where, steps) if steps else None,
                    "created_at": now,
                }
            )
        return rows

    async def messages(self, conversation_id: str) -> list[Message]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
            )
            return list(rows)

    async def feedback(self, conversation_id: str) -> list[Feedback]:
        async with self._sessions() as session:
            rows = await session.scalars(select(Feedback).where(Feedback.conversation_id == conversation_id))
            return list(rows)

    async def page(self, owner: str, after: Cursor | None, size: int) -> list[Conversation]:
        """Newest first (ties by id), the rows after `after`; one more row than `size` tells the caller
        there is a next page."""
        query = select(Conversation).where(Conversation.owner_id == owner)
        if after is not None:
            query = query.where(
                or_(
                    Conversation.created_at < after.created_at,
                    and_(Conversation.created_at == after.created_at, Conversation.id > after.conversation_id),
                )
            )
        async with self._sessions() as session:
            rows = await session.scalars(
                query.order_by(Conversation.created_at.desc(), Conversation.id).limit(size + 1)
            )
            return list(rows)

    async def delete(self, conversation_id: str, owner: str) -> bool:
        async with self._write_lock, self._sessions.begin() as session:
            result = await session.execute(
                delete(Conversation).where(Conversation.id == conversation_id, Conversation.owner_id == owner)
            )
            return bool(getattr(result, "rowcount", 0))

    async def sweep(self, now: datetime) -> int:
        """Purge the flow state (slots, NULL) of expired conversations; the history stays for retention."""
        async with self._write_lock, self._sessions.begin() as session:
            result = await session.execute(
                update(Conversation)
                .where(Conversation.expires_at < now, Conversation.state != 0)
                .values(state=0, context=None, version=Conversation.version + 1)  # a turn read before loses
            )
            return int(getattr(result, "rowcount", 0))
