"""The one way tests start the WuffChat server in-process: production's own composition, on a free port.

`running_server` runs `server.app.start` (storage and migrations, the areas, the real chain, health,
reflection, a real port) and stops it again. What a test varies goes in the way production takes it:
the settings (built from variables by tests/conftest.py's `settings_factory`), the clock
(tests/support/clock.py, moved by hand past expiries instead of sleeping), extra handlers (a test
service behind the real chain), a wrapped chain factory, metrics and a tracer. `Servers` is the
per-test factory behind the fixtures of tests/conftest.py (`servers`, `start_server`, `server`).

`SharedKnowledge` is the knowledge stack (base, embeddings, retriever, triage model; about a second to
build) built once per session and served by every server whose knowledge settings match it. A test
that changes the base (admin upserts, deletions) is marked `own_knowledge` and gets its own stack; one
that changes the shared stack without the mark fails.

Servers that are deliberately not started here: `python -m server` as a process
(tests/support/process.py: the command line, signals, `--workers`, memory of a real process), the
bare chains of the interceptor unit tests (tests/support/echo.py), and stand-ins for other parties
(the Weaviate fake, a TLS health server for the client, a failing server for the client's retries,
an OTLP receiver for the exported spans).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.trace import Tracer

from interceptors.base import Interceptor
from interceptors.chain import ChainDependencies, build_chain
from rpc.metrics import Metrics
from server.app import RunningServer, start
from server.clock import Clock, system_clock
from server.config import KnowledgeSettings, Settings
from server.knowledge import factory
from server.knowledge.assembly import build_knowledge
from server.knowledge.types import KnowledgeBase

Handlers = Sequence["grpc.GenericRpcHandler[Any, Any]"]
ChainFactory = Callable[[ChainDependencies], Sequence[Interceptor]]


@dataclass(frozen=True)
class SharedKnowledge:
    """A knowledge stack built once from `settings` and served by many servers."""

    knowledge: factory.Knowledge
    settings: KnowledgeSettings
    base: KnowledgeBase  # the base as built: a server that published another one changed it for all

    @classmethod
    async def build(cls, settings: KnowledgeSettings) -> SharedKnowledge:
        part = await build_knowledge(settings)
        return cls(part.knowledge, settings, part.knowledge.store.base)

    def serves(self, settings: Settings) -> bool:
        """Whether a server with `settings` can use this stack: the same base, embedding cache and
        retriever (the overlay directory aside: the shared stack keeps its own), and no metrics (the
        stack's retrieval counts on none)."""
        knowledge = settings.knowledge.model_copy(update={"overlay_dir": self.settings.overlay_dir})
        return knowledge == self.settings and settings.observability.metrics_addr is None

    def check_unchanged(self) -> None:
        """Raises AssertionError when a server changed the shared base."""
        if self.knowledge.store.base is not self.base:
            raise AssertionError(
                "this test changed the shared knowledge base (an upsert or deletion): "
                "mark it @pytest.mark.own_knowledge so its servers build their own"
            )


@asynccontextmanager
async def running_server(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    extra_handlers: Handlers = (),
    chain_factory: ChainFactory = build_chain,
    knowledge: SharedKnowledge | None = None,
    metrics: Metrics | None = None,
    tracer: Tracer | None = None,
) -> AsyncIterator[RunningServer]:
    """The server of `server.app.start` with `settings`, stopped on leaving (a test may stop it
    earlier). `knowledge` is served when it `serves` these settings and no `metrics` are given; else
    the server builds its own. `metrics` and `tracer` go to `start` as they are."""
    shared = knowledge if knowledge is not None and metrics is None and knowledge.serves(settings) else None
    running = await start(
        settings,
        clock=clock,
        extra_handlers=extra_handlers,
        chain_factory=chain_factory,
        metrics=metrics,
        tracer=tracer,
        prebuilt_knowledge=shared.knowledge if shared is not None else None,
    )
    try:
        yield running
    finally:
        await running.stop(0)
    if shared is not None:
        shared.check_unchanged()


def address(running: RunningServer) -> str:
    """host:port of a running server."""
    return f"127.0.0.1:{running.port}"


class Servers:
    """Starts servers for one test: settings from `settings_factory` (overrides are variables, as for
    `settings_factory`, or whole `Settings`), the test's clock, the session's shared knowledge unless
    the test builds its own. `start` keeps a server until `aclose` (the fixture's teardown)."""

    def __init__(
        self,
        settings_factory: Callable[..., Settings],
        *,
        clock: Clock,
        knowledge: SharedKnowledge | None,
    ) -> None:
        self.settings = settings_factory
        self.clock = clock
        self.knowledge = knowledge
        self._stack = contextlib.AsyncExitStack()

    @asynccontextmanager
    async def running(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        extra_handlers: Handlers = (),
        chain_factory: ChainFactory = build_chain,
        metrics: Metrics | None = None,
        tracer: Tracer | None = None,
        **overrides: Any,
    ) -> AsyncIterator[RunningServer]:
        """A server for the `async with` block: `settings`, or the test settings with `overrides`
        (variables); the keywords as for `running_server`."""
        if settings is not None and overrides:
            raise TypeError("pass settings or overrides, not both")
        async with running_server(
            settings if settings is not None else self.settings(**overrides),
            clock=clock or self.clock,
            extra_handlers=extra_handlers,
            chain_factory=chain_factory,
            knowledge=self.knowledge,
            metrics=metrics,
            tracer=tracer,
        ) as running:
            yield running

    @asynccontextmanager
    async def serving(
        self, settings: Settings | None = None, **options: Any
    ) -> AsyncIterator[tuple[RunningServer, grpc.aio.Channel]]:
        """`running` plus a plaintext channel to the server."""
        async with contextlib.AsyncExitStack() as stack:
            running = await stack.enter_async_context(self.running(settings, **options))
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(address(running)))
            yield running, channel

    async def start(self, settings: Settings | None = None, **options: Any) -> RunningServer:
        """A server running until the end of the test (`running`'s arguments)."""
        return await self._stack.enter_async_context(self.running(settings, **options))

    async def aclose(self) -> None:
        await self._stack.aclose()
