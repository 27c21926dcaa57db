"""`AsyncClient`: typed grpc.aio access to AuthService, ConversationService, KnowledgeService and health.

Every method raises the exceptions of `wuffchat_client.errors` (never a raw grpc error). Calls carry
`accept-language` (the client's language), a deadline (10 s, 60 s for the message stream) and the
credential: the user's access token once `login` succeeded (or tokens were passed in), else the API
key. An access token about to expire is refreshed first; an UNAUTHENTICATED answer triggers one
refresh and one retry.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message as ProtoMessage
from grpc_health.v1 import health_pb2, health_pb2_grpc
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2 as knowledge_pb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from wuffchat_client import errors
from wuffchat_client._channel import DEFAULT_TARGET, open_channel, parse_target
from wuffchat_client._credentials import Credentials, Metadata, TokensListener
from wuffchat_client._stream import MessageStream
from wuffchat_client.captcha import solve_captcha
from wuffchat_client.models import (
    BehaviorMatch,
    Conversation,
    ConversationPage,
    ConversationSummary,
    Profile,
    TokenPair,
    Turn,
)

Req = TypeVar("Req", bound=ProtoMessage)
Resp = TypeVar("Resp", bound=ProtoMessage)
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


class AsyncClient:
    """A WuffChat connection. Use `async with AsyncClient(...) as client:` or call `close()`.

    `target`: `host:port`, `http://...` or `https://...` (TLS); `tls`/`ca_file` force TLS with a CA
    bundle; `cert_file`/`key_file` present a client certificate (mutual TLS). `api_key` authenticates a
    service; `tokens` resumes a user session, and `on_tokens` is told of every new pair (or None when the
    session ended) so the caller can store them. `clock` (seconds, `time.time` by default) dates the
    tokens and decides when to refresh them; tests pass one they move.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        tokens: TokenPair | None = None,
        on_tokens: TokensListener | None = None,
        language: str = "de",
        tls: bool = False,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        timeout: float = 10.0,
        stream_timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._channel = open_channel(
            parse_target(target, tls=tls, ca_file=ca_file, cert_file=cert_file, key_file=key_file)
        )
        self._clock = clock
        self._credentials = Credentials(api_key=api_key, tokens=tokens, on_tokens=on_tokens, clock=clock)
        self.language = language
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self._auth = auth_service_pb2_grpc.AuthServiceStub(self._channel)
        self._conversations = conversation_service_pb2_grpc.ConversationServiceStub(self._channel)
        self._knowledge = knowledge_service_pb2_grpc.KnowledgeServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close(None)

    @property
    def tokens(self) -> TokenPair | None:
        """The current user tokens (None with an API key or after logout)."""
        return self._credentials.tokens

    # -- plumbing ---------------------------------------------------------------------------------

    def _metadata(self, authenticated: bool) -> Metadata:
        language: Metadata = (("accept-language", self.language),)
        return language + self._credentials.metadata() if authenticated else language

    async def _refresher(self, refresh_token: str) -> TokenPair:
        request = auth_pb.RefreshTokenRequest(refresh_token=refresh_token)
        reply = await self._unary(self._auth.RefreshToken, request, authenticated=False)
        return TokenPair.from_pb(reply.tokens, now=self._clock())

    async def _unary(
        self, method: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req, *, authenticated: bool = True
    ) -> Resp:
        for attempt in (1, 2):
            if authenticated:
                await self._credentials.fresh(self._refresher)
            stale = self._credentials.tokens
            try:
                return await method(request, timeout=self.timeout, metadata=self._metadata(authenticated))
            except grpc.aio.AioRpcError as err:
                if attempt == 1 and authenticated and stale is not None and err.code() == UNAUTHENTICATED:
                    await self._credentials.refresh(self._refresher, stale)
                    continue
                raise errors.from_rpc_error(err) from None
        raise AssertionError("unreachable")

    async def _stream_events(
        self, request: conv_pb.StreamMessageRequest
    ) -> AsyncGenerator[conv_pb.StreamMessageResponse, None]:
        for attempt in (1, 2):
            await self._credentials.fresh(self._refresher)
            stale = self._credentials.tokens
            call = self._conversations.StreamMessage(
                request, timeout=self.stream_timeout, metadata=self._metadata(True)
            )
            received = False
            try:
                async for event in call:
                    received = True
                    yield event
                return
            except grpc.aio.AioRpcError as err:
                # Only a refusal before the first event is retried: nothing was processed then.
                if attempt == 1 and not received and stale is not None and err.code() == UNAUTHENTICATED:
                    await self._credentials.refresh(self._refresher, stale)
                    continue
                raise errors.from_rpc_error(err) from None
            finally:
                call.cancel()

    async def _captcha(self) -> auth_pb.CaptchaSolution:
        challenge = await self._unary(self._auth.GetCaptcha, auth_pb.GetCaptchaRequest(), authenticated=False)
        # Up to max_number hashes: off the event loop.
        number = await asyncio.to_thread(
            solve_captcha, challenge.challenge, challenge.salt, challenge.max_number, algorithm=challenge.algorithm
        )
        return auth_pb.CaptchaSolution(
            algorithm=challenge.algorithm,
            challenge=challenge.challenge,
            salt=challenge.salt,
            number=number,
            signature=challenge.signature,
        )

    # -- health -----------------------------------------------------------------------------------

    async def health(self, service: str = "") -> str:
        """The serving status of `service` ("" = the whole server): "SERVING", "NOT_SERVING", ...

        Raises:
            NotFound: the server does not know `service`. Unavailable: it cannot be reached.
        """
        reply = await self._unary(
            self._health.Check, health_pb2.HealthCheckRequest(service=service), authenticated=False
        )
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    # -- accounts ---------------------------------------------------------------------------------

    async def register(self, email: str, password: str) -> str:
        """Create an account (the CAPTCHA is solved here) and return the new user id.

        Raises:
            InvalidArgument: bad email, a password the policy rejects (`field_violations` says which).
            AlreadyExists: the email has an account. RateLimited: too many registrations.
        """
        request = auth_pb.RegisterRequest(email=email, password=password, captcha=await self._captcha())
        reply = await self._unary(self._auth.Register, request, authenticated=False)
        return reply.user_id

    async def login(self, email: str, password: str) -> TokenPair:
        """Log in (the CAPTCHA is solved here); later calls use the new tokens.

        Raises:
            Unauthenticated: unknown email or wrong password (one answer for both).
            RateLimited: too many attempts (`retry_after` seconds).
        """
        request = auth_pb.LoginRequest(email=email, password=password, captcha=await self._captcha())
        reply = await self._unary(self._auth.Login, request, authenticated=False)
        tokens = TokenPair.from_pb(reply.tokens, now=self._clock())
        self._credentials.set_tokens(tokens)
        return tokens

    async def refresh(self) -> TokenPair:
        """Rotate the tokens now (normally done transparently).

        Raises:
            Unauthenticated: no session, or it ended (the tokens are dropped).
        """
        tokens = await self._credentials.refresh(self._refresher)
        if tokens is None:
            raise errors.Unauthenticated(UNAUTHENTICATED, "not logged in")
        return tokens

    async def logout(self, *, all_sessions: bool = False) -> None:
        """End this session (or every session of the user) and drop the tokens."""
        tokens = self._credentials.tokens
        if tokens is None:
            return
        request = auth_pb.LogoutRequest(refresh_token=tokens.refresh_token, all_sessions=all_sessions)
        try:
            await self._unary(self._auth.Logout, request)
        finally:
            self._credentials.set_tokens(None)

    async def profile(self) -> Profile:
        """The logged-in user's profile. Raises PermissionDenied for an API key."""
        return Profile.from_pb(await self._unary(self._auth.GetProfile, auth_pb.GetProfileRequest()))

    async def change_password(self, current_password: str, new_password: str) -> None:
        """Raises InvalidArgument for a wrong current or a rejected new password."""
        request = auth_pb.ChangePasswordRequest(current_password=current_password, new_password=new_password)
        await self._unary(self._auth.ChangePassword, request)

    async def export_my_data(self) -> dict[str, Any]:
        """All personal data the server holds about the user (profile, sessions, conversations, ...)."""
        reply = await self._unary(self._auth.ExportMyData, auth_pb.ExportMyDataRequest())
        data: dict[str, Any] = json.loads(reply.json)
        return data

    async def delete_account(self, password: str) -> None:
        """Erase the account and everything stored about it; the tokens are dropped.

        Raises:
            InvalidArgument: wrong password. RateLimited: the account is locked for a while.
        """
        await self._unary(self._auth.DeleteAccount, auth_pb.DeleteAccountRequest(password=password))
        self._credentials.set_tokens(None)

    # -- conversations ----------------------------------------------------------------------------

    async def start_conversation(self, language: str | None = None) -> Conversation:
        """Open a conversation: the dog's greeting and first question, state WAIT_FOR_SYMPTOM."""
        request = conv_pb.StartConversationRequest(language=language or self.language)
        reply = await self._unary(self._conversations.StartConversation, request)
        return Conversation.from_pb(reply)

    async def send_message(self, conversation_id: str, text: str) -> Turn:
        """One turn: the new state and the bot's answers.

        Raises:
            NotFound: no such conversation for this principal. ConversationExpired: start a new one.
            InvalidArgument: empty or too long text. RateLimited: too many messages.
        """
        request = conv_pb.SendMessageRequest(conversation_id=conversation_id, text=text)
        reply = await self._unary(self._conversations.SendMessage, request)
        return Turn.from_pb(reply)

    def stream_message(self, conversation_id: str, text: str) -> MessageStream:
        """Like `send_message`, with the answer streamed: iterate for text deltas, then read `.turn`."""
        request = conv_pb.StreamMessageRequest(conversation_id=conversation_id, text=text)
        return MessageStream(self._stream_events(request))

    async def history(self, conversation_id: str) -> Conversation:
        """The whole conversation (every message), also after it expired. Raises NotFound."""
        request = conv_pb.GetConversationRequest(conversation_id=conversation_id)
        reply = await self._unary(self._conversations.GetConversation, request)
        return Conversation.from_pb(reply)

    async def list_conversations(self, page_size: int = 20, page_token: str = "") -> ConversationPage:
        """The caller's conversations, newest first; pass `next_page_token` for the next page."""
        request = conv_pb.ListConversationsRequest(page_size=page_size, page_token=page_token)
        reply = await self._unary(self._conversations.ListConversations, request)
        return ConversationPage(
            conversations=tuple(ConversationSummary.from_pb(s) for s in reply.conversations),
            next_page_token=reply.next_page_token,
        )

    async def delete_conversation(self, conversation_id: str) -> None:
        """Raises NotFound when there is no such conversation for this principal."""
        request = conv_pb.DeleteConversationRequest(conversation_id=conversation_id)
        await self._unary(self._conversations.DeleteConversation, request)

    # -- knowledge --------------------------------------------------------------------------------

    async def search_behaviors(self, query: str, limit: int = 5, language: str | None = None) -> list[BehaviorMatch]:
        """Knowledge-base behaviours matching `query`, best first; empty when none is confident."""
        request = knowledge_pb.SearchBehaviorsRequest(query=query, limit=limit, language=language or self.language)
        reply = await self._unary(self._knowledge.SearchBehaviors, request)
        return [BehaviorMatch.from_pb(m) for m in reply.matches]
