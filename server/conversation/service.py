"""`wuffchat.conversation.v1.ConversationService`: runs the flow (flow.py) for the calling principal.

The chain has decided what it owns before a handler runs: the principal (authentication), and the
request fields, normalized and checked against the contract's rules (validation: ids, text length,
language, page size). Here a conversation of another principal is NOT_FOUND; an expired one is
FAILED_PRECONDITION with a friendly "start a new one" message; a page token that is not ours is
INVALID_ARGUMENT with BadRequest details. State and messages are stored after every turn.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Coroutine
from datetime import datetime, timedelta
from typing import Any, NoReturn

import grpc
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from rpc import call, errors
from rpc.metrics import Metrics
from server.audit import AuditLog
from server.clock import Clock, system_clock
from server.knowledge.search import KnowledgeSearch
from server.knowledge.store import KnowledgeStore
from server.storage.models import Message

from . import flow
from .paging import Cursor, PageTokens
from .responders.interface import Responder, StreamFallback  # not from .openai: `openai` loads lazily
from .store import ConcurrentTurnError, ConversationStore, NewMessage, StoredConversation

Context = grpc.aio.ServicerContext[object, object]
DEFAULT_PAGE = 20
CONTACT_PLACEHOLDER = "[contact]"  # the contact answer lives only in feedback (deleted after 90 days)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _rendered(part: flow.Part, composed: str) -> NewMessage:
    """The stored message of a part: its fixed text, or prefix, rendered composition and suffix."""
    text = part.text or "\n\n".join(piece for piece in (part.prefix, composed, part.suffix) if piece)
    return NewMessage(part.sender, part.kind, text, part.steps)


async def _invalid(context: Context, field: str, description: str) -> NoReturn:
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    await errors.abort(
        context,
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_argument",
        error_details_pb2.BadRequest(field_violations=[violation]),
    )


async def _to_the_end(write: Coroutine[Any, Any, None]) -> None:
    """Run `write` to its end even when the call is cancelled meanwhile (the client left after the
    answer): a transaction cut off by a cancellation is neither committed nor rolled back, and on SQLite
    its connection keeps the write lock, so every other turn waits and fails (busy_timeout). The
    cancellation is raised once the write is done; the turn the owner saw is stored whole."""
    task = asyncio.ensure_future(write)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: a refused turn of a call that is gone needs no answer
        raise


class ConversationService(conversation_service_pb2_grpc.ConversationServiceServicer):
    """`clock` is injectable so tests can move time past the idle expiry."""

    def __init__(
        self,
        store: ConversationStore,
        knowledge: KnowledgeStore,
        search: KnowledgeSearch,
        responder: Responder,
        *,
        ttl: timedelta,
        page_tokens: PageTokens,
        clock: Clock = system_clock,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._started = metrics.conversations_started if metrics is not None else None
        self._finished = metrics.conversations_finished if metrics is not None else None
        self._store = store
        self._audit = audit  # conversation_deleted goes on the record (None: tests that build the service bare)
        self._page_tokens = page_tokens
        self._knowledge = knowledge
        self._search = search
        self._responder = responder
        self._ttl = ttl
        self._clock = clock
        # One turn at a time per conversation, so two parallel messages cannot interleave their writes.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @staticmethod
    def _owner() -> tuple[str, str | None]:
        """The owner key of the calling principal, and its user id when it is a user."""
        principal = call.authenticated()
        return principal.owner_key, principal.id if principal.kind == "user" else None

    async def _load(self, context: Context, conversation_id: str, *, live: bool) -> StoredConversation:
        owner, _ = self._owner()
        row = await self._store.get(conversation_id, owner)
        if row is None:
            await errors.abort(context, grpc.StatusCode.NOT_FOUND, "conversation_not_found")
        if live and (row.expires_at <= self._clock() or row.state == 0):
            await errors.abort(context, grpc.StatusCode.FAILED_PRECONDITION, "conversation_expired")
        return row

    def _message(self, message: NewMessage | Message, created: datetime) -> pb.Message:
        return pb.Message(
            sender=message.sender,  # type: ignore[arg-type]
            kind=message.kind,  # type: ignore[arg-type]
            text=message.text,
            created_at=_timestamp(created),
            steps=list(message.steps or ()),
        )

    async def StartConversation(
        self, request: pb.StartConversationRequest, context: Context
    ) -> pb.StartConversationResponse:
        owner, user_id = self._owner()
        language = request.language or "de"
        plan = flow.opening(language)
        messages = [NewMessage(p.sender, p.kind, p.text) for p in plan.parts]
        now = self._clock()
        row = await self._store.create(
            owner=owner,
            user_id=user_id,
            language=language,
            state=int(plan.state),
            context=plan.context,
            messages=messages,
            now=now,
            ttl=self._ttl,
        )
        if self._started is not None:
            self._started.inc()
        return pb.StartConversationResponse(
            conversation_id=row.id,
            state=int(plan.state),  # type: ignore[arg-type]
            messages=[self._message(m, now) for m in messages],
        )

    async def _plan(
        self, context: Context, conversation_id: str, text: str
    ) -> tuple[StoredConversation, flow.Plan, str]:
        row = await self._load(context, conversation_id, live=True)
        base = self._knowledge.base
        plan = await flow.advance(flow.State(row.state), dict(row.context or {}), text, self._search, base)
        return row, plan, text

    async def _save(
        self, context: Context, row: StoredConversation, plan: flow.Plan, user_text: str, bot: list[NewMessage]
    ) -> datetime:
        """Store the turn; ABORTED (nothing stored, the client may send again) when another turn came first."""
        if row.state == flow.State.FEEDBACK_Q5 and plan.feedback and plan.feedback.get("contact"):
            user_text = CONTACT_PLACEHOLDER
        now = self._clock()
        messages = [NewMessage(pb.SENDER_USER, pb.MESSAGE_KIND_ANSWER, user_text), *bot]
        write = self._store.save_turn(
            row=row,
            state=int(plan.state),
            context=plan.context,
            messages=messages,
            feedback=plan.feedback,
            now=now,
            ttl=self._ttl,
        )
        try:
            await _to_the_end(write)
        except ConcurrentTurnError:
            await errors.abort(context, grpc.StatusCode.ABORTED, "conversation_changed")
        if self._finished is not None and row.state == flow.State.FEEDBACK_Q5 and plan.state == flow.State.GREETING:
            self._finished.inc()  # the last feedback answer: the conversation went all the way
        return now

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def SendMessage(self, request: pb.SendMessageRequest, context: Context) -> pb.SendMessageResponse:
        async with self._lock(request.conversation_id):
            row, plan, text = await self._plan(context, request.conversation_id, request.text)
            bot = [
                _rendered(p, await self._responder.respond(p.composition) if p.composition else "") for p in plan.parts
            ]
            now = await self._save(context, row, plan, text, bot)
        return pb.SendMessageResponse(
            state=int(plan.state),  # type: ignore[arg-type]
            messages=[self._message(m, now) for m in bot],
        )

    async def StreamMessage(
        self, request: pb.StreamMessageRequest, context: Context
    ) -> AsyncIterator[pb.StreamMessageResponse]:
        async with self._lock(request.conversation_id):
            row, plan, text = await self._plan(context, request.conversation_id, request.text)
            bot: list[NewMessage] = []
            for i, part in enumerate(plan.parts):
                separator = "\n\n" if i else ""
                if part.composition is None:
                    message = _rendered(part, "")
                    yield pb.StreamMessageResponse(delta=separator + message.text)
                    bot.append(message)
                    continue
                if separator or part.prefix:
                    yield pb.StreamMessageResponse(delta=separator + (part.prefix + "\n\n" if part.prefix else ""))
                pieces: list[str] = []
                try:
                    async for piece in self._responder.stream(part.composition):
                        pieces.append(piece)
                        yield pb.StreamMessageResponse(delta=piece)
                    answer = "".join(pieces)
                except StreamFallback as fallback:
                    answer = fallback.text
                if part.suffix:
                    yield pb.StreamMessageResponse(delta="\n\n" + part.suffix)
                bot.append(_rendered(part, answer))
            now = await self._save(context, row, plan, text, bot)
        messages = [self._message(m, now) for m in bot]
        yield pb.StreamMessageResponse(done=pb.Turn(state=int(plan.state), messages=messages))  # type: ignore[arg-type]

    async def GetConversation(self, request: pb.GetConversationRequest, context: Context) -> pb.GetConversationResponse:
        row = await self._load(context, request.conversation_id, live=False)
        history = await self._store.messages(row.id)
        return pb.GetConversationResponse(
            conversation_id=row.id,
            state=row.state,  # type: ignore[arg-type]
            language=row.language,
            expires_at=_timestamp(row.expires_at),
            messages=[self._message(m, m.created_at) for m in history],
        )

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: Context
    ) -> pb.ListConversationsResponse:
        owner, _ = self._owner()
        size = request.page_size or DEFAULT_PAGE
        after = await self._cursor(context, owner, request.page_token)
        rows = await self._store.page(owner, after, size)
        summaries = [
            pb.ConversationSummary(
                conversation_id=r.id,
                state=r.state,  # type: ignore[arg-type]
                language=r.language,
                created_at=_timestamp(r.created_at),
                updated_at=_timestamp(r.updated_at),
                behavior_title=str((r.context or {}).get("behavior_title") or ""),
            )
            for r in rows[:size]
        ]
        last = rows[size - 1] if len(rows) > size else None
        token = self._page_tokens.issue(owner, Cursor(last.created_at, last.id)) if last else ""
        return pb.ListConversationsResponse(conversations=summaries, next_page_token=token)

    async def _cursor(self, context: Context, owner: str, token: str) -> Cursor | None:
        if not token:
            return None
        cursor = self._page_tokens.cursor(owner, token)
        if cursor is None:
            await _invalid(context, "page_token", "is not a token from a previous page")
        return cursor

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: Context
    ) -> pb.DeleteConversationResponse:
        owner, _ = self._owner()
        if not await self._store.delete(request.conversation_id, owner):
            await errors.abort(context, grpc.StatusCode.NOT_FOUND, "conversation_not_found")
        if self._audit is not None:
            await self._audit.record("conversation_deleted", principal=owner)
        return pb.DeleteConversationResponse()
