"""Plain typed results of the client (frozen dataclasses and string enums), converted from the protobuf replies.

Enum values are the proto names without their prefix (`ConversationState.WAIT_FOR_SYMPTOM` is
"WAIT_FOR_SYMPTOM"), so they print and serialize to JSON as they are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from google.protobuf import timestamp_pb2
from wuffchat.auth.v1 import auth_service_pb2
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.knowledge.v1 import knowledge_service_pb2


class ConversationState(StrEnum):
    """The 11 states of the flow (SPEC.md section 6), plus UNSPECIFIED."""

    UNSPECIFIED = "UNSPECIFIED"
    GREETING = "GREETING"
    WAIT_FOR_SYMPTOM = "WAIT_FOR_SYMPTOM"
    WAIT_FOR_CONFIRMATION = "WAIT_FOR_CONFIRMATION"
    WAIT_FOR_CONTEXT = "WAIT_FOR_CONTEXT"
    ASK_FOR_EXERCISE = "ASK_FOR_EXERCISE"
    END_OR_RESTART = "END_OR_RESTART"
    FEEDBACK_Q1 = "FEEDBACK_Q1"
    FEEDBACK_Q2 = "FEEDBACK_Q2"
    FEEDBACK_Q3 = "FEEDBACK_Q3"
    FEEDBACK_Q4 = "FEEDBACK_Q4"
    FEEDBACK_Q5 = "FEEDBACK_Q5"


class Sender(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    DOG = "DOG"
    COMPANION = "COMPANION"
    USER = "USER"


class MessageKind(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    GREETING = "GREETING"
    QUESTION = "QUESTION"
    ANSWER = "ANSWER"
    INSTRUCTION = "INSTRUCTION"
    ERROR = "ERROR"


def _state(value: int) -> ConversationState:
    return ConversationState(conv_pb.ConversationState.Name(value).removeprefix("CONVERSATION_STATE_"))  # type: ignore[arg-type]


def _time(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


@dataclass(frozen=True)
class TokenPair:
    """A user's session tokens; the expiry times are local wall-clock seconds (time.time()).

    The tokens never appear in repr() or logs.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float
    refresh_expires_at: float
    access_lifetime: float
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)

    @classmethod
    def from_pb(cls, tokens: auth_service_pb2.TokenPair, *, now: float | None = None) -> TokenPair:
        received = time.time() if now is None else now
        return cls(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=received + tokens.access_expires_in,
            refresh_expires_at=received + tokens.refresh_expires_in,
            access_lifetime=float(tokens.access_expires_in),
            token_type=tokens.token_type or "Bearer",
        )


@dataclass(frozen=True)
class Message:
    """One message of a conversation.

    `steps` are an exercise's steps in order (INSTRUCTION messages; empty otherwise). The server also ends
    `text` with them, one line each ("1. ..."), so showing `text` alone loses nothing; a client that shows
    `steps` as a list shows `text_without_steps` above it.
    """

    sender: Sender
    text: str
    kind: MessageKind
    created_at: datetime
    steps: tuple[str, ...] = ()

    @property
    def text_without_steps(self) -> str:
        """`text` without its last len(steps) lines (the steps written out); `text` itself if there are none."""
        if not self.steps:
            return self.text
        lines = self.text.rstrip("\n").split("\n")
        return "\n".join(lines[: max(len(lines) - len(self.steps), 0)]).rstrip()

    @classmethod
    def from_pb(cls, message: conv_pb.Message) -> Message:
        return cls(
            sender=Sender(conv_pb.Sender.Name(message.sender).removeprefix("SENDER_")),
            text=message.text,
            kind=MessageKind(conv_pb.MessageKind.Name(message.kind).removeprefix("MESSAGE_KIND_")),
            created_at=_time(message.created_at),
            steps=tuple(message.steps),
        )


@dataclass(frozen=True)
class Turn:
    """The state after a message and the bot's answers to it."""

    state: ConversationState
    messages: tuple[Message, ...]

    @classmethod
    def from_pb(cls, turn: conv_pb.SendMessageResponse | conv_pb.Turn) -> Turn:
        return cls(state=_state(turn.state), messages=tuple(Message.from_pb(m) for m in turn.messages))


@dataclass(frozen=True)
class Conversation:
    """A conversation with its messages (all of them from `history`, the opening ones from `start`)."""

    id: str
    state: ConversationState
    messages: tuple[Message, ...]
    language: str = ""
    expires_at: datetime | None = None

    @classmethod
    def from_pb(cls, reply: conv_pb.StartConversationResponse | conv_pb.GetConversationResponse) -> Conversation:
        language = reply.language if isinstance(reply, conv_pb.GetConversationResponse) else ""
        expires = (
            _time(reply.expires_at)
            if isinstance(reply, conv_pb.GetConversationResponse) and reply.HasField("expires_at")
            else None
        )
        return cls(
            id=reply.conversation_id,
            state=_state(reply.state),
            messages=tuple(Message.from_pb(m) for m in reply.messages),
            language=language,
            expires_at=expires,
        )


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    state: ConversationState
    language: str
    created_at: datetime
    updated_at: datetime
    behavior_title: str

    @classmethod
    def from_pb(cls, summary: conv_pb.ConversationSummary) -> ConversationSummary:
        return cls(
            id=summary.conversation_id,
            state=_state(summary.state),
            language=summary.language,
            created_at=_time(summary.created_at),
            updated_at=_time(summary.updated_at),
            behavior_title=summary.behavior_title,
        )


@dataclass(frozen=True)
class ConversationPage:
    conversations: tuple[ConversationSummary, ...]
    next_page_token: str


@dataclass(frozen=True)
class BehaviorMatch:
    """A knowledge-base behaviour (`id` is its slug) and how well it matched, best first."""

    id: str
    title: str
    score: float

    @classmethod
    def from_pb(cls, match: knowledge_service_pb2.BehaviorMatch) -> BehaviorMatch:
        return cls(id=match.id, title=match.title, score=match.score)


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str
    created_at: datetime
    roles: tuple[str, ...]

    @classmethod
    def from_pb(cls, reply: auth_service_pb2.GetProfileResponse) -> Profile:
        return cls(
            user_id=reply.user_id,
            email=reply.email,
            created_at=datetime.fromtimestamp(reply.created_at, UTC),
            roles=tuple(reply.roles),
        )
