"""Assemble and run the server, top to bottom: storage, servicers, health, reflection, bind, serve.

Beside the calls, two background jobs run: the conversation sweeper and retention (server/retention.py).

`start()` returns a running server (tests use it on port 0); `serve()` adds signal handling:
on SIGTERM or SIGINT health turns NOT_SERVING, new calls are refused, in-flight calls get
`SHUTDOWN_GRACE_SECONDS` to finish, then the process exits 0. With `--workers N`, server/workers.py
migrates once and runs `serve()` in N forked processes on one port.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.ext.asyncio import AsyncEngine
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2, conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2, knowledge_service_pb2_grpc

from interceptors.base import Interceptor
from interceptors.chain import ChainDependencies, build_chain
from interceptors.compose import Chain
from interceptors.ratelimit_backend import Limiter
from server import config, decoding
from server.audit import AuditLog
from server.auth.assembly import Auth, MissingApiKeysError, build_auth
from server.clock import Clock, system_clock
from server.config import Settings
from server.conversation.paging import PageTokens
from server.conversation.responders.interface import Responder
from server.conversation.responders.offline import OfflineResponder
from server.conversation.service import ConversationService
from server.conversation.store import ConversationStore
from server.conversation.sweeper import Sweeper
from server.health import HealthMonitor
from server.knowledge import factory as knowledge_factory
from server.knowledge.loader import KnowledgeError
from server.knowledge.retrieval.interface import RetrieverUnavailableError
from server.knowledge.service import KnowledgeService
from server.retention import Retention, RetentionPolicy
from server.storage import data_keys, db, migrate
from server.storage.keyring import KeyringError

log = structlog.get_logger(__name__)

SERVICE_NAMES: tuple[str, ...] = (
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name,
    knowledge_service_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name,
)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(RuntimeError):
    """The server cannot start (database unreachable, port in use); the message is one line."""


@dataclass
class RunningServer:
    """A started server; `stop()` shuts it down gracefully."""

    server: grpc.aio.Server
    port: int
    health: HealthMonitor
    engine: AsyncEngine
    sweeper: Sweeper
    retention: Retention
    limiter: Limiter
    auth: Auth
    knowledge: knowledge_factory.Knowledge

    async def stop(self, grace: float) -> None:
        await self.health.shutdown()
        await self.sweeper.stop()
        await self.retention.stop()
        await self.server.stop(grace)
        await self.limiter.aclose()
        self.auth.close()
        await self.knowledge.aclose()
        await self.engine.dispose()


def _weaviate(settings: Settings) -> knowledge_factory.WeaviateTarget | None:
    if settings.weaviate_url is None:
        return None
    return knowledge_factory.WeaviateTarget(settings.weaviate_url, settings.weaviate_grpc_port)


async def _open_storage(settings: Settings, *, migrate_schema: bool = True) -> AsyncEngine:
    engine = db.create_engine(settings.database_url)
    if not await db.wait_until_reachable(engine, settings.db_startup_timeout_seconds):
        await engine.dispose()
        raise StartupError(
            f"database unreachable at {db.safe_url(settings.database_url)} "
            f"after {settings.db_startup_timeout_seconds:g} s"
        )
    try:  # personal fields are sealed with the data keys (issue 18): checked before anything is served
        keyring = await asyncio.to_thread(  # may read (or make) the dev key file
            data_keys.keyring_for, settings.data_keys, dev_file=Path(settings.data_keys_dev_file)
        )
        if migrate_schema:
            await asyncio.to_thread(migrate.upgrade, settings.database_url, keyring=keyring)
        await data_keys.unlock(engine, keyring)
    except (data_keys.DataKeyMismatchError, KeyringError) as exc:
        await engine.dispose()
        raise StartupError(str(exc)) from None
    return engine


async def prepare_storage(settings: Settings) -> None:
    """Wait for the database and migrate it, then close every connection (`--workers` runs this
    once in the parent, before forking).

    Raises:
        StartupError: the database stays unreachable.
    """
    engine = await _open_storage(settings)
    await engine.dispose()


def _server_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_request_bytes),
        ("grpc.max_concurrent_streams", 256),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        # grpc enables SO_REUSEPORT by default, which would let a second server bind an
        # occupied port silently; only --workers N (one port, many processes) wants it.
        ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
    ]


def _responder(settings: Settings) -> Responder:
    """Offline by default; OpenAI when OPENAI_API_KEY is set (falls back offline on any failure)."""
    if settings.openai_api_key is None:
        return OfflineResponder()
    import openai

    from server.conversation.responders.openai import OpenAIResponder

    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=0,
    )
    return OpenAIResponder(client, settings.openai_model, timeout=settings.openai_timeout_seconds)


async def start(
    settings: Settings,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]] = (),
    chain_factory: Callable[[ChainDependencies], Sequence[Interceptor]] = build_chain,
    clock: Clock = system_clock,
    migrate_schema: bool = True,
) -> RunningServer:
    """Open storage (with retries and migrations), load the knowledge base and the embedding model,
    build the server, bind and start it. `chain_factory` builds the interceptor chain (tests may wrap
    build_chain); `clock` lets tests move time past the conversation expiry; `migrate_schema=False`
    when the schema is known to be current (a `--workers` parent migrated it before forking).

    Raises:
        StartupError: the database stays unreachable, the knowledge base is invalid, or the
            address cannot be bound.
    """
    engine = await _open_storage(settings, migrate_schema=migrate_schema)
    try:
        knowledge = await knowledge_factory.build(
            Path(settings.knowledge_dir),
            Path(settings.knowledge_overlay_dir),
            Path(settings.cache_dir),
            weaviate=_weaviate(settings),
        )
    except KnowledgeError as exc:
        await engine.dispose()
        raise StartupError(f"knowledge base invalid: {exc.problems[0]} ({len(exc.problems)} problem(s))") from None
    except RetrieverUnavailableError as exc:
        await engine.dispose()
        raise StartupError(str(exc)) from None
    conversations = ConversationStore(engine, contact_retention=timedelta(days=settings.retention_contact_days))
    sweeper = Sweeper(conversations, clock, interval=settings.sweep_interval_seconds)

    audit = AuditLog(engine)
    if not settings.is_prod and (lowered := config.weakened(settings)):
        await audit.record_safely("config_weakened", severity="warning", details={"settings": list(lowered)})
    retention = Retention(
        engine,
        RetentionPolicy.from_settings(settings),
        audit,
        clock=clock,
        interval=settings.retention_interval_seconds,
    )
    try:
        auth = await build_auth(settings, engine, audit)
    except MissingApiKeysError as exc:
        await knowledge.aclose()
        await engine.dispose()
        raise StartupError(str(exc)) from None
    limiter = Limiter(settings.redis_url, audit=audit)

    deps = ChainDependencies(
        settings=settings,
        audit=audit,
        limiter=limiter,
        token_verifier=auth.token_verifier,
        api_key_checker=auth.api_key_checker,
    )
    # the steps in their order, served as one interceptor (interceptors/compose.py)
    server = grpc.aio.server(interceptors=[Chain(chain_factory(deps))], options=_server_options(settings))
    # our services decode requests tolerantly: an undecodable body runs the chain too (decoding.py)
    decoding.add_servicer(server, auth_service_pb2_grpc.add_AuthServiceServicer_to_server, auth.servicer)
    conversation_service = ConversationService(
        conversations,
        knowledge.store,
        knowledge.search,
        _responder(settings),
        ttl=timedelta(seconds=settings.conversation_ttl_seconds),
        page_tokens=PageTokens((settings.secret_key, *settings.previous_secret_keys)),
        clock=clock,
        audit=audit,
    )
    decoding.add_servicer(
        server, conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server, conversation_service
    )
    knowledge_service = KnowledgeService(knowledge.store, knowledge.search, audit=audit)
    decoding.add_servicer(server, knowledge_service_pb2_grpc.add_KnowledgeServiceServicer_to_server, knowledge_service)
    server.add_generic_rpc_handlers(tuple(extra_handlers))

    health = HealthMonitor(engine, SERVICE_NAMES, interval=settings.health_check_interval_seconds)
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    reflection.enable_server_reflection((*SERVICE_NAMES, "grpc.health.v1.Health", reflection.SERVICE_NAME), server)

    try:
        port = server.add_insecure_port(settings.grpc_addr)
    except RuntimeError:
        port = 0
    if port == 0:
        await limiter.aclose()
        auth.close()
        await knowledge.aclose()
        await engine.dispose()
        raise StartupError(f"cannot listen on {settings.grpc_addr} (address in use or not available)")

    await server.start()
    await health.start()
    sweeper.start()
    retention.start()
    log.info(
        "listening",
        addr=settings.grpc_addr,
        port=port,
        env=settings.app_env,
        database=db.safe_url(settings.database_url),
    )
    return RunningServer(
        server=server,
        port=port,
        health=health,
        engine=engine,
        sweeper=sweeper,
        retention=retention,
        limiter=limiter,
        auth=auth,
        knowledge=knowledge,
    )


async def serve(settings: Settings, *, migrate_schema: bool = True) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    running = await start(settings, migrate_schema=migrate_schema)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    # a --workers worker starts with these signals blocked (server/workers.py), so one sent while it
    # was starting is held until now instead of killing it half-way
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    await stop.wait()
    log.info("shutting down", grace_seconds=settings.shutdown_grace_seconds)
    await running.stop(settings.shutdown_grace_seconds)
    log.info("stopped")
