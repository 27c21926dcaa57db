"""The load the fleet tests run through Envoy: whole conversations and logins, every call counted.

Each conversation worker, as one signed-up user, starts a conversation, walks it from the symptom to
the last feedback answer (ten turns) and reads it back (GetConversation), again and again. Each login
worker fetches a CAPTCHA, solves it, logs in and reads its profile with the new token. Each reader makes
only calls without side effects (GetConversation, SearchBehaviors, GetProfile).

What a failed call means depends on the method (the contracts' `idempotency_level`, read as Envoy's
renderer reads it): an idempotent call must never fail, Envoy retries it on another instance. A
non-idempotent call cut off in flight may fail UNAVAILABLE; it is not simply resent. A turn (SendMessage)
that failed UNAVAILABLE may have been stored or not, so the worker reads the conversation (idempotent):
one more owner message than it has acknowledged means the turn was applied and is acknowledged now;
otherwise it is sent again. ABORTED (another turn came first) is resent as the Python client does.
Every acknowledged turn is recorded, to be found in the history afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

import grpc
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2 as kb_pb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from interceptors.policy import POLICIES
from tests.support.auth import PASSWORD, bearer, register, solved_captcha

TURNS = (
    "Mein Hund zieht beim Spazierengehen ständig an der Leine nach vorne.",
    "ja gerne",
    "Meistens morgens auf dem Feld, wenn er Wild riecht. Er ist ein Beagle.",
    "ja gerne",
    "nee",
    "ja, sehr",
    "spannend",
    "passt",
    "9",
    "hund@example.org",
)
# The contact answer (FEEDBACK_Q5) is personal data: the history shows it redacted.
STORED_AS = {"hund@example.org": "[contact]"}
CALL_TIMEOUT_SECONDS = 30.0
# Each worker rests this long after each call: a steady load that leaves the two cores of a CI machine
# room to start an instance, not a saturation test (bench/ measures throughput).
PACE_SECONDS = 0.05
_ids = itertools.count()


def idempotent(method: str) -> bool:
    return POLICIES[method].idempotent


@dataclass
class Tally:
    """What the load saw: OK calls per method, failures as (method, code), acknowledged turns."""

    ok: Counter[str] = field(default_factory=Counter)
    failed: list[tuple[str, grpc.StatusCode]] = field(default_factory=list)
    reconciled: int = 0  # turns that failed UNAVAILABLE but were found stored
    resent: int = 0  # turns sent again after UNAVAILABLE (not stored) or ABORTED
    acked: dict[str, list[str]] = field(default_factory=dict)  # conversation id -> acknowledged owner texts
    owner: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # conversation id -> metadata
    conversations_done: int = 0

    def failed_idempotent(self) -> list[tuple[str, grpc.StatusCode]]:
        return [(m, c) for m, c in self.failed if idempotent(m)]

    def turns(self) -> int:
        return sum(len(texts) for texts in self.acked.values())

    def summary(self) -> str:
        failures = Counter(f"{method.rsplit('/', 1)[1]}:{code.name}" for method, code in self.failed)
        return (
            f"ok calls {sum(self.ok.values())} ({dict(sorted(self.ok.items()))}), failed {len(self.failed)} "
            f"({dict(failures)}), acknowledged turns "
            f"{self.turns()} in {len(self.acked)} conversations ({self.conversations_done} whole), "
            f"reconciled {self.reconciled}, resent {self.resent}"
        )


class Load:
    """Workers over one channel to Envoy until `stop()`; `tally` holds what they saw."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.tally = Tally()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._conv = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        self._auth = auth_service_pb2_grpc.AuthServiceStub(channel)
        self._search = knowledge_service_pb2_grpc.KnowledgeServiceStub(channel)

    async def _call(self, method: str, call: object, request: object, **kwargs: object) -> object | None:
        """One call; OK -> its response, a failure -> None (recorded)."""
        await asyncio.sleep(PACE_SECONDS)
        try:
            response = await call(request, timeout=CALL_TIMEOUT_SECONDS, **kwargs)  # type: ignore[operator]
        except grpc.aio.AioRpcError as error:
            self.tally.failed.append((method, error.code()))
            return None
        self.tally.ok[method.rsplit("/", 1)[1]] += 1
        return response

    async def start(self, conversations: int = 4, logins: int = 2, readers: int = 2) -> None:
        users = []
        for _ in range(conversations + logins + readers):
            email = f"fleet-{next(_ids)}-{id(self)}@example.org"
            await register(self.channel, email)
            users.append(email)
        for email in users[:conversations]:
            tokens = await self._login(email)
            assert tokens is not None, "the load's own login failed before anything was disturbed"
            self._tasks.append(asyncio.create_task(self._converse(bearer(tokens.access_token))))
        for email in users[conversations : conversations + logins]:
            self._tasks.append(asyncio.create_task(self._logins(email)))
        for email in users[conversations + logins :]:
            tokens = await self._login(email)
            assert tokens is not None, "the load's own login failed before anything was disturbed"
            who = bearer(tokens.access_token)
            started = await self._conv.StartConversation(pb.StartConversationRequest(language="de"), metadata=who)
            self._tasks.append(asyncio.create_task(self._read(started.conversation_id, who)))

    async def stop(self) -> Tally:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.tally

    async def lost_turns(self) -> dict[str, tuple[list[str], list[str]]]:
        """Conversations whose stored owner messages (read through Envoy after the load) differ from the
        acknowledged turns: id -> (acknowledged, stored)."""
        differ = {}
        for cid, acked in self.tally.acked.items():
            reply = await self._conv.GetConversation(
                pb.GetConversationRequest(conversation_id=cid), metadata=self.tally.owner[cid], timeout=30
            )
            stored = [m.text for m in reply.messages if m.sender == pb.SENDER_USER]
            if stored != [STORED_AS.get(text, text) for text in acked]:
                differ[cid] = (acked, stored)
        return differ

    async def wait_for_turns(self, count: int, within: float) -> None:
        """Until `count` more turns are acknowledged than now (TimeoutError after `within` seconds)."""
        target = self.tally.turns() + count
        async with asyncio.timeout(within):
            while self.tally.turns() < target:
                await asyncio.sleep(0.05)

    async def _login(self, email: str) -> auth_pb.TokenPair | None:
        try:
            captcha = await solved_captcha(self._auth)
        except grpc.aio.AioRpcError as error:
            self.tally.failed.append(("/wuffchat.auth.v1.AuthService/GetCaptcha", error.code()))
            return None
        self.tally.ok["GetCaptcha"] += 1
        reply = await self._call(
            "/wuffchat.auth.v1.AuthService/Login",
            self._auth.Login,
            auth_pb.LoginRequest(email=email, password=PASSWORD, captcha=captcha),
        )
        return reply.tokens if isinstance(reply, auth_pb.LoginResponse) else None

    async def _logins(self, email: str) -> None:
        while not self._stop.is_set():
            tokens = await self._login(email)
            if tokens is not None:
                await self._call(
                    "/wuffchat.auth.v1.AuthService/GetProfile",
                    self._auth.GetProfile,
                    auth_pb.GetProfileRequest(),
                    metadata=bearer(tokens.access_token),
                )

    async def _read(self, cid: str, who: tuple[tuple[str, str], ...]) -> None:
        """Only calls without side effects: the conversation, a search, the profile."""
        while not self._stop.is_set():
            await self._history(cid, who)
            await self._call(
                "/wuffchat.knowledge.v1.KnowledgeService/SearchBehaviors",
                self._search.SearchBehaviors,
                kb_pb.SearchBehaviorsRequest(query="Mein Hund bellt jeden Besucher an der Tür an.", limit=3),
                metadata=who,
            )
            await self._call(
                "/wuffchat.auth.v1.AuthService/GetProfile",
                self._auth.GetProfile,
                auth_pb.GetProfileRequest(),
                metadata=who,
            )

    async def _history(self, cid: str, who: tuple[tuple[str, str], ...]) -> list[str] | None:
        reply = await self._call(
            "/wuffchat.conversation.v1.ConversationService/GetConversation",
            self._conv.GetConversation,
            pb.GetConversationRequest(conversation_id=cid),
            metadata=who,
        )
        if not isinstance(reply, pb.GetConversationResponse):
            return None
        return [m.text for m in reply.messages if m.sender == pb.SENDER_USER]

    async def _turn(self, cid: str, text: str, who: tuple[tuple[str, str], ...]) -> bool:
        """Send one turn until it is acknowledged (or the load stops while it is in doubt)."""
        acked = self.tally.acked[cid]
        while True:
            await asyncio.sleep(PACE_SECONDS)
            try:
                await self._conv.SendMessage(
                    pb.SendMessageRequest(conversation_id=cid, text=text), metadata=who, timeout=CALL_TIMEOUT_SECONDS
                )
            except grpc.aio.AioRpcError as error:
                self.tally.failed.append(("/wuffchat.conversation.v1.ConversationService/SendMessage", error.code()))
                if error.code() == grpc.StatusCode.ABORTED:
                    self.tally.resent += 1
                    continue
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    return False
                history = await self._history(cid, who)
                if history is None:
                    return False
                if len(history) == len(acked) + 1:  # it was stored before the instance went away
                    self.tally.reconciled += 1
                    acked.append(text)
                    return True
                self.tally.resent += 1
                continue
            self.tally.ok["SendMessage"] += 1
            acked.append(text)
            return True

    async def _converse(self, who: tuple[tuple[str, str], ...]) -> None:
        while not self._stop.is_set():
            started = await self._call(
                "/wuffchat.conversation.v1.ConversationService/StartConversation",
                self._conv.StartConversation,
                pb.StartConversationRequest(language="de"),
                metadata=who,
            )
            if not isinstance(started, pb.StartConversationResponse):
                continue
            cid = started.conversation_id
            self.tally.acked[cid], self.tally.owner[cid] = [], who
            for text in TURNS:
                if self._stop.is_set() or not await self._turn(cid, text, who):
                    break
            else:
                self.tally.conversations_done += 1
            await self._history(cid, who)
