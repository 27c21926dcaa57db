"""WuffChat Python client: `AsyncClient` (grpc.aio) and `Client` (blocking), typed results, one exception per status."""

from wuffchat_client._stream import MessageStream
from wuffchat_client._version import __version__
from wuffchat_client.aio import AsyncClient
from wuffchat_client.captcha import CaptchaUnsolvableError, solve_captcha
from wuffchat_client.errors import (
    AlreadyExists,
    ConversationExpired,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaViolation,
    RateLimited,
    Unauthenticated,
    Unavailable,
    WuffChatError,
)
from wuffchat_client.models import (
    BehaviorMatch,
    Conversation,
    ConversationPage,
    ConversationState,
    ConversationSummary,
    Message,
    MessageKind,
    Profile,
    Sender,
    TokenPair,
    Turn,
)
from wuffchat_client.sync import Client, SyncMessageStream

__all__ = [
    "AlreadyExists",
    "AsyncClient",
    "BehaviorMatch",
    "CaptchaUnsolvableError",
    "Client",
    "Conversation",
    "ConversationExpired",
    "ConversationPage",
    "ConversationState",
    "ConversationSummary",
    "FieldViolation",
    "InvalidArgument",
    "Message",
    "MessageKind",
    "MessageStream",
    "NotFound",
    "PermissionDenied",
    "Profile",
    "QuotaViolation",
    "RateLimited",
    "Sender",
    "SyncMessageStream",
    "TokenPair",
    "Turn",
    "Unauthenticated",
    "Unavailable",
    "WuffChatError",
    "__version__",
    "solve_captcha",
]
