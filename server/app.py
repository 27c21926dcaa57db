"""Assemble and run the server, top to bottom: storage, the areas, the chain, health, reflection, bind, serve.

Each area builds its own part in the same style (`build_knowledge`, `build_auth`,
`build_conversation`: servicer plus what it needs, from settings, on the one clock); what must be
closed goes on one `contextlib.AsyncExitStack`, which `RunningServer.stop()` (or a failed start)
closes in reverse order.

With HEALTH_ADDR the health servicer is served alone on a plaintext port too (server/health_port.py).

Observability (README "Metrics", "Traces", "Health"): with METRICS_ADDR one `rpc.metrics.Metrics` is
handed to the chain, the audit sink, the limiter, health, knowledge and conversation, and served on
that address; OTEL_* give the chain a tracer (server/tracing.py); health probes the database and, when
configured, Redis and Weaviate.

Beside the calls, three background jobs run: the conversation sweeper, retention (server/retention.py)
and the memory trim (server/memory.py).

`start()` returns a running server (tests use it on port 0); `serve()` adds signal handling:
on SIGTERM or SIGINT health turns NOT_SERVING, calls are still served for `SHUTDOWN_DRAIN_SECONDS`
(so Envoy's health checks take the instance out first), then new calls are refused, in-flight calls
get `SHUTDOWN_GRACE_SECONDS` to finish, and the process exits 0. With `--workers N`, server/workers.py
migrates once and runs `serve()` in N forked processes on one port.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
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
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2, conversation_service_pb2_grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2, knowledge_service_pb2_grpc

from interceptors.base import Interceptor
from interceptors.chain import ChainDependencies, ChainOptions, build_chain
from interceptors.ratelimit_backend import Limiter
from interceptors.receive_deadline import ReceiveDeadline
from rpc import decoding
from rpc.metrics import Metrics
from server import config, tls
from server import tracing as server_tracing
from server.audit import AuditLog
from server.auth.assembly import Auth, MissingApiKeysError, build_auth, check_prod_api_keys
from server.clock import Clock, system_clock
from server.config import Settings
from server.conversation.assembly import build_conversation
from server.conversation.sweeper import Sweeper
from server.health import HealthMonitor, Probe
from server.health_port import HealthPortError, start_health_port
from server.knowledge import factory as knowledge_factory
from server.knowledge.assembly import build_knowledge
from server.knowledge.loader import KnowledgeError
from server.knowledge.retrieval.interface import RetrieverUnavailableError
from server.memory import MemoryTrimmer
from server.metrics_endpoint import MetricsEndpoint
from server.retention import Retention, RetentionPolicy
from server.storage import data_keys, db, migrate
from server.storage.keyring import KeyringError
from server.storage.observe import observe
from server.storage.transactions import Transactions

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
    trimmer: MemoryTrimmer
    limiter: Limiter
    auth: Auth
    knowledge: knowledge_factory.Knowledge
    resources: contextlib.AsyncExitStack  # closes the limiter, auth, knowledge and the engine, in that order
    metrics: Metrics | None = None  # METRICS_ADDR set (or a --workers worker): the server's metrics
    metrics_port: int | None = None  # the bound port of METRICS_ADDR, when this process serves it
    health_port: int | None = None  # the bound port of HEALTH_ADDR, when set

    async def stop(self, grace: float, *, drain: float = 0.0) -> None:
        """Health NOT_SERVING; after `drain` seconds (calls still served, so a load balancer that checks
        health stops sending any) new calls are refused and in-flight ones get `grace` seconds."""
        await self.health.shutdown()
        if drain > 0:
            await asyncio.sleep(drain)
        await self.sweeper.stop()
        await self.retention.stop()
        await self.trimmer.stop()
        await self.server.stop(grace)
        await self.resources.aclose()


def _pool(settings: Settings) -> db.Pool:
    database = settings.database
    return db.Pool(
        size=database.pool_size,
        max_overflow=database.max_overflow,
        timeout_seconds=database.pool_timeout_seconds,
        connect_timeout_seconds=database.connect_timeout_seconds,
        statement_timeout_seconds=database.statement_timeout_seconds,
    )


async def _open_storage(settings: Settings, *, migrate_schema: bool = True) -> AsyncEngine:
    engine = db.create_engine(settings.database.url, _pool(settings))
    if not await db.wait_until_reachable(engine, settings.database.startup_timeout_seconds):
        await engine.dispose()
        raise StartupError(
            f"database unreachable at {db.safe_url(settings.database.url)} "
            f"after {settings.database.startup_timeout_seconds:g} s"
        )
    try:
        await check_prod_api_keys(
            settings.auth, engine, prod=settings.is_prod
        )  # bad configuration: refused before migrating
    except BaseException:
        await engine.dispose()
        raise
    try:  # personal fields are sealed with the data keys (issue 18): checked before anything is served
        keyring = await asyncio.to_thread(  # may read (or make) the dev key file
            data_keys.keyring_for, settings.data_keys.keys, dev_file=Path(settings.data_keys.dev_file)
        )
        if migrate_schema:
            await asyncio.to_thread(migrate.upgrade, settings.database.url, keyring=keyring)
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
        ConfigError: APP_ENV=prod without any API key (checked before migrating).
    """
    engine = await _open_storage(settings)
    await engine.dispose()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _server_options(settings: Settings) -> list[tuple[str, int]]:
    """grpc core's limits; with the receive deadline (interceptors/receive_deadline.py) they bound
    what half-sent calls and idle connections can hold."""
    return [
        ("grpc.max_receive_message_length", settings.edge.max_request_bytes),
        # streams beyond this on one connection are refused (RST_STREAM REFUSED_STREAM)
        ("grpc.max_concurrent_streams", settings.edge.max_streams_per_connection),
        # a connection must send the HTTP/2 preface and SETTINGS within the request receive deadline
        ("grpc.server_handshake_timeout_ms", _ms(settings.edge.request_receive_timeout_seconds)),
        # a connection without calls this long gets GOAWAY
        ("grpc.max_connection_idle_ms", _ms(settings.edge.max_connection_idle_seconds)),
        # every connection gets GOAWAY at this age and is closed, calls and all, after the grace
        ("grpc.max_connection_age_ms", _ms(settings.edge.max_connection_age_seconds)),
        ("grpc.max_connection_age_grace_ms", _ms(settings.edge.max_connection_age_grace_seconds)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        # grpc enables SO_REUSEPORT by default, which would let a second server bind an
        # occupied port silently; only --workers N (one port, many processes) wants it.
        ("grpc.so_reuseport", 1 if settings.server.workers > 1 else 0),
    ]


def _grpc_server(settings: Settings, chain: Sequence[Interceptor]) -> grpc.aio.Server:
    """The server with its interceptors: the receive deadline first (it runs before any request message
    exists), then the chain's steps in their order (interceptors/chain.py), each a grpc.aio interceptor."""
    receive_deadline = ReceiveDeadline(
        settings.edge.request_receive_timeout_seconds, max_waiting=settings.edge.max_waiting_requests
    )
    return grpc.aio.server(interceptors=[receive_deadline, *chain], options=_server_options(settings))


async def _listen(server: grpc.aio.Server, settings: Settings) -> int:
    """Bind the gRPC port, with TLS when GRPC_TLS_* name certificate files; the port bound.

    Raises:
        StartupError: the TLS files are unreadable, or the address is in use or not available.
    """
    try:
        credentials = await asyncio.to_thread(tls.server_credentials, settings.server)
    except OSError as exc:
        raise StartupError(f"cannot read the TLS files of GRPC_TLS_*: {exc.strerror}") from None
    addr = settings.server.grpc_addr
    try:
        port = server.add_secure_port(addr, credentials) if credentials else server.add_insecure_port(addr)
    except RuntimeError:
        port = 0
    if port == 0:
        raise StartupError(f"cannot listen on {addr} (address in use or not available)")
    return port


def _tracer(settings: Settings, given: Tracer | None, resources: contextlib.AsyncExitStack) -> Tracer | None:
    """`given`, else the tracer OTEL_* ask for (None: tracing off); buffered spans are sent at the end."""
    tracer = given if given is not None else server_tracing.configure(settings.observability)
    if tracer is not None:
        resources.callback(server_tracing.shutdown)  # closed last: the spans of the shutdown go out too
    return tracer


def _serve_metrics(settings: Settings, metrics: Metrics | None, resources: contextlib.AsyncExitStack) -> int | None:
    """Serve `metrics` on METRICS_ADDR (stopped with `resources`); the bound port, None when off.

    Raises:
        StartupError: the address is in use or not available.
    """
    addr = settings.observability.metrics_addr
    if metrics is None or addr is None:
        return None
    try:
        endpoint = MetricsEndpoint(addr, metrics.registry)
    except OSError:
        raise StartupError(f"cannot serve metrics on {addr} (address in use or not available)") from None
    resources.callback(endpoint.stop)
    return endpoint.port


async def _serve_health_port(
    settings: Settings, health: HealthMonitor, resources: contextlib.AsyncExitStack
) -> int | None:
    """Serve `health`'s servicer alone on HEALTH_ADDR, started now and stopped with `resources` (after the
    main port, so probes see NOT_SERVING throughout the drain); the bound port, None when off.

    Raises:
        StartupError: the address is in use or not available.
    """
    addr = settings.server.health_addr
    if addr is None:
        return None
    try:
        server, port = await start_health_port(health.servicer, addr, reuse_port=settings.server.workers > 1)
    except HealthPortError as exc:
        raise StartupError(str(exc)) from None
    resources.push_async_callback(server.stop, 0)
    return port


def _dependency_probes(settings: Settings, limiter: Limiter, knowledge: knowledge_factory.Knowledge) -> list[Probe]:
    """Health probes beside the database's: Redis (gates nothing: limits fall back to memory) and
    Weaviate (gates the services that answer from retrieval), each only when configured."""
    probes = []
    if settings.limits.redis_url is not None:

        async def redis_up() -> bool:
            return bool(await limiter.redis_alive())

        probes.append(Probe("redis", redis_up))
    if knowledge.ready is not None:
        probes.append(Probe("weaviate", knowledge.ready, (SERVICE_NAMES[1], SERVICE_NAMES[2])))
    return probes


async def start(
    settings: Settings,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]] = (),
    chain_factory: Callable[[ChainDependencies], Sequence[Interceptor]] = build_chain,
    clock: Clock = system_clock,
    migrate_schema: bool = True,
    metrics: Metrics | None = None,
    serve_metrics: bool = True,
    tracer: Tracer | None = None,
    prebuilt_knowledge: knowledge_factory.Knowledge | None = None,
) -> RunningServer:
    """Open storage (with retries and migrations), build each area (knowledge, auth, conversation) and
    the chain, register the servicers, bind and start. `chain_factory` builds the interceptor chain
    (tests may wrap build_chain); `clock` is every area's time (tests move it past expiries);
    `migrate_schema=False` when the schema is known to be current (a `--workers` parent migrated it).
    `metrics`: count on these (default: new ones when METRICS_ADDR is set, else none); `serve_metrics=False`
    when another process serves METRICS_ADDR (a `--workers` worker). `tracer`: the SERVER spans' tracer
    (default: from OTEL_*, server/tracing.py; None there means tracing off). `prebuilt_knowledge`, a
    stack already built from `settings.knowledge`, is served instead of building one and is left open
    (tests share one between servers); its retrieval counts where it was built to.
    On a failure, what was opened is closed again in reverse order (one exit stack).

    Raises:
        StartupError: the database stays unreachable, the knowledge base is invalid, Weaviate cannot
            be reached, prod has no API key, or the address cannot be bound.
    """
    async with contextlib.AsyncExitStack() as resources:
        if metrics is None and settings.observability.metrics_addr is not None:
            metrics = Metrics()
        tracer = _tracer(settings, tracer, resources)
        engine = await _open_storage(settings, migrate_schema=migrate_schema)
        resources.push_async_callback(engine.dispose)
        transactions = Transactions(engine)  # a turn's transactions (one thread hop each on SQLite)
        resources.callback(transactions.close)
        observe(engine, metrics, twin=transactions.twin)  # database spans and error counts
        audit = AuditLog(engine, metrics=metrics)
        if not settings.is_prod and (lowered := config.weakened(settings)):
            await audit.record_safely("config_weakened", severity="warning", details={"settings": list(lowered)})

        try:
            knowledge = await build_knowledge(
                settings.knowledge, audit=audit, metrics=metrics, prebuilt=prebuilt_knowledge
            )
        except KnowledgeError as exc:
            raise StartupError(f"knowledge base invalid: {exc.problems[0]} ({len(exc.problems)} problem(s))") from None
        except RetrieverUnavailableError as exc:
            raise StartupError(str(exc)) from None
        resources.push_async_callback(knowledge.aclose)
        try:
            auth = await build_auth(settings.auth, settings.secrets, engine, audit, prod=settings.is_prod, clock=clock)
        except MissingApiKeysError as exc:
            raise StartupError(str(exc)) from None
        resources.callback(auth.close)
        conversation = build_conversation(
            settings.conversation,
            transactions,
            knowledge.knowledge,
            openai=settings.openai,
            signing_keys=settings.secrets.all_keys,
            contact_retention=timedelta(days=settings.retention.contact_days),
            clock=clock,
            audit=audit,
            metrics=metrics,
        )
        limiter = Limiter(settings.limits.redis_url, audit=audit, metrics=metrics)
        resources.push_async_callback(limiter.aclose)
        retention = Retention(
            engine,
            RetentionPolicy.from_settings(settings.retention, settings.auth.login),
            audit,
            clock=clock,
            interval=settings.retention.interval_seconds,
        )

        deps = ChainDependencies(
            options=ChainOptions(
                rate_limits=settings.limits.rate_limits,
                auth_failure_limit=settings.limits.auth_failure_limit,
                trusted_proxies=settings.edge.trusted_proxies,
            ),
            audit=audit,
            limiter=limiter,
            token_verifier=auth.token_verifier,
            api_key_checker=auth.api_key_checker,
            metrics=metrics,
            tracer=tracer,
        )
        server = _grpc_server(settings, chain_factory(deps))
        # our services decode requests tolerantly: an undecodable body runs the chain too (rpc/decoding.py)
        decoding.add_servicer(server, auth_service_pb2_grpc.add_AuthServiceServicer_to_server, auth.servicer)
        decoding.add_servicer(
            server, conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server, conversation.servicer
        )
        decoding.add_servicer(
            server, knowledge_service_pb2_grpc.add_KnowledgeServiceServicer_to_server, knowledge.servicer
        )
        server.add_generic_rpc_handlers(tuple(extra_handlers))

        health = HealthMonitor(
            engine,
            SERVICE_NAMES,
            interval=settings.server.health_check_interval_seconds,
            extra=_dependency_probes(settings, limiter, knowledge.knowledge),
            metrics=metrics,
        )
        health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
        reflection.enable_server_reflection((*SERVICE_NAMES, "grpc.health.v1.Health", reflection.SERVICE_NAME), server)

        port = await _listen(server, settings)
        metrics_port = _serve_metrics(settings, metrics, resources) if serve_metrics else None

        health_port = await _serve_health_port(settings, health, resources)  # bound before a failure can leave
        await server.start()  # the main port running
        await health.start()
        conversation.sweeper.start()
        retention.start()
        trimmer = MemoryTrimmer(interval=settings.server.memory_trim_interval_seconds)
        trimmer.start()
        log.info(
            "listening",
            addr=settings.server.grpc_addr,
            port=port,
            env=settings.app_env,
            database=db.safe_url(settings.database.url),
            metrics_port=metrics_port,
            health_port=health_port,
            tracing=tracer is not None,
        )
        return RunningServer(
            server=server,
            port=port,
            health=health,
            engine=engine,
            sweeper=conversation.sweeper,
            retention=retention,
            trimmer=trimmer,
            limiter=limiter,
            auth=auth,
            knowledge=knowledge.knowledge,
            resources=resources.pop_all(),
            metrics=metrics,
            metrics_port=metrics_port,
            health_port=health_port,
        )


async def serve(settings: Settings, *, migrate_schema: bool = True, metrics: Metrics | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully. `metrics`: a `--workers` worker's, kept in
    the shared multiprocess directory; the parent serves METRICS_ADDR (server/workers.py)."""
    running = await start(settings, migrate_schema=migrate_schema, metrics=metrics, serve_metrics=metrics is None)
    # What start-up built (the knowledge base, the message model's vocabularies, the encoder's weights)
    # lives as long as the process: out of the collector's sight, so that every full collection under
    # load no longer walks millions of objects that can never be garbage (issue 14's profile).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    # a --workers worker starts with these signals blocked (server/workers.py), so one sent while it
    # was starting is held until now instead of killing it half-way
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    await stop.wait()
    log.info(
        "shutting down",
        drain_seconds=settings.server.shutdown_drain_seconds,
        grace_seconds=settings.server.shutdown_grace_seconds,
    )
    await running.stop(settings.server.shutdown_grace_seconds, drain=settings.server.shutdown_drain_seconds)
    log.info("stopped")
