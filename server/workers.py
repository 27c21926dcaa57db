"""`--workers N`: N server processes on one port (grpc's SO_REUSEPORT pattern), watched by the parent.

The parent migrates the database once, reserves the port (so `GRPC_ADDR=host:0` resolves to one port
for all), then forks the workers before any gRPC or asyncio object exists in it (grpc's
examples/python/multiprocessing); each worker runs `serve()` with `grpc.so_reuseport` on, and the
kernel spreads new connections over them. HEALTH_ADDR (server/health_port.py) is reserved and shared
the same way. SIGTERM or SIGINT to the parent is forwarded to every
worker, which drains like a single server; the parent exits 0 once all exited cleanly. A worker that
exits on its own (crash, kill, failed start) is reported, the others are stopped, and the parent
exits 1.

Metrics (METRICS_ADDR): one scrape shows every worker. The parent makes a private directory for
prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR); each worker keeps its values in files
there (rpc/metrics.py `use_multiprocess`), and the parent, after forking, serves METRICS_ADDR from a
registry that sums the files. Counters and histograms add up over workers (and survive a worker's
exit); the health gauges show the lowest live value. The directory is removed when the parent exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import cast

import structlog
import uvloop

from rpc import metrics
from server.app import STOP_SIGNALS, StartupError, prepare_storage, serve
from server.config import ServerSettings, Settings
from server.knowledge import factory as knowledge_factory
from server.knowledge.loader import KnowledgeError
from server.log import bind_process
from server.metrics_endpoint import MetricsEndpoint

log = structlog.get_logger(__name__)

EXIT_FAILED = 1
# after the workers' own grace period, how long the parent waits before it kills what is left
KILL_AFTER_GRACE_SECONDS = 15.0


@contextlib.contextmanager
def reserve_port(addr: str) -> Iterator[str]:
    """Bind (without listening) a SO_REUSEPORT socket on `addr`, yield `host:port` with the real port.

    Raises:
        StartupError: the address is taken by a socket without SO_REUSEPORT, or not available.
    """
    host, _, port = addr.rpartition(":")
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError:
        raise StartupError(f"cannot listen on {addr} (address not available)") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise StartupError(f"cannot listen on {addr} (address in use or not available)") from None
    with sock:
        yield f"{host}:{sock.getsockname()[1]}"


def _worker(index: int, settings: Settings, metrics_dir: str | None) -> None:
    """The body of one forked worker: serve until SIGTERM (the parent migrated already)."""
    bind_process(worker=index)  # every log line says which worker wrote it
    log.info("worker started", pid=os.getpid())
    counted = None
    if metrics_dir is not None:
        metrics.use_multiprocess(metrics_dir)
        counted = metrics.Metrics()
    try:
        # as a single server runs (server/__main__.py)
        uvloop.run(serve(settings, migrate_schema=False, metrics=counted))
    except StartupError as exc:
        print(f"wuffchat: worker {index} cannot start: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILED)


def _fork_workers(settings: Settings, metrics_dir: str | None) -> list[BaseProcess]:
    context = multiprocessing.get_context("fork")
    workers: list[BaseProcess] = []
    try:
        for index in range(settings.server.workers):
            worker = context.Process(target=_worker, args=(index, settings, metrics_dir), name=f"worker-{index}")
            worker.start()
            workers.append(worker)
    except OSError:
        for started in workers:
            started.kill()
            started.join()
        raise StartupError("cannot fork the workers (out of processes or memory)") from None
    return workers


class _Supervisor:
    """Waits for the workers; the first stop signal or unexpected exit stops them all."""

    def __init__(self, workers: list[BaseProcess], grace: float, metrics_dir: str | None = None) -> None:
        self._workers = workers
        self._metrics_dir = metrics_dir
        self._grace = grace
        self._stopping = False
        self._requested: int | None = None  # a stop signal noted by `request_stop`, acted on by the loop
        self.failed = False

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """The stop signals' handler: only notes the signal.

        A handler may interrupt the main thread anywhere, a log write holding the logger's lock
        included; logging or terminating from here deadlocked (seen). The supervising loop acts on it.
        """
        self._requested = signum

    def stop_all(self, signum: int | None = None) -> None:
        if signum is not None and not self._stopping:
            log.info("stopping workers", signal=signal.Signals(signum).name)
        self._stopping = True
        for worker in self._workers:
            if worker.exitcode is None:
                worker.terminate()  # SIGTERM: the worker drains within its grace period

    def run(self) -> int:
        # The wait also watches the wake-up descriptor the signal module writes to (from whichever
        # thread the kernel picked): a stop signal ends the wait at once and the loop acts on it.
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        previous = signal.set_wakeup_fd(wake_write)
        try:
            self._supervise(wake_read)
        finally:
            signal.set_wakeup_fd(previous)
            os.close(wake_read)
            os.close(wake_write)
        return EXIT_FAILED if self.failed else 0

    def _supervise(self, wake_read: int) -> None:
        alive = {worker.sentinel: worker for worker in self._workers}
        while alive:
            if self._requested is not None and not self._stopping:
                self.stop_all(self._requested)
            timeout = self._grace + KILL_AFTER_GRACE_SECONDS if self._stopping else None
            ready = wait([*alive, wake_read], timeout)
            if not ready:
                self._kill(list(alive.values()))
                continue
            for sentinel in ready:
                if sentinel == wake_read:
                    os.read(wake_read, 512)  # a signal arrived; its handler has run by now
                else:
                    self._reap(alive.pop(cast(int, sentinel)))

    def _reap(self, worker: BaseProcess) -> None:
        worker.join()
        if self._metrics_dir is not None and worker.pid is not None:
            metrics.mark_process_dead(worker.pid, self._metrics_dir)
        if self._stopping and worker.exitcode == 0:
            log.info("worker stopped", worker=worker.name, pid=worker.pid)
            return
        log.error("worker exited unexpectedly", worker=worker.name, pid=worker.pid, exit_code=worker.exitcode)
        self.failed = True
        self.stop_all()

    def _kill(self, workers: list[BaseProcess]) -> None:
        for worker in workers:
            log.error("worker did not stop in time, killing it", worker=worker.name, pid=worker.pid)
            worker.kill()
        self.failed = True


def run(settings: Settings) -> int:
    """Migrate, fork `settings.server.workers` workers on one port and supervise them; the exit code.

    Raises:
        StartupError: the database stays unreachable, or the address cannot be bound.
    """
    asyncio.run(prepare_storage(settings))
    # One fit in the parent, inherited by the forked workers (each would fit for seconds while starting);
    # an invalid base is left to the workers, which refuse to start and say why.
    with contextlib.suppress(KnowledgeError):
        knowledge_factory.prefit_message_model(
            Path(settings.knowledge.dir), Path(settings.knowledge.overlay_dir), Path(settings.knowledge.cache_dir)
        )
    # Finalize the start-up's garbage (the migration's loop and connections) here, once, rather than
    # in every worker's collector at some later moment, on descriptors the worker inherited.
    gc.collect()
    if threading.active_count() > 1:  # a thread would be copied into every worker half-alive
        raise StartupError("internal: threads left running before forking the workers")
    with contextlib.ExitStack() as stack:
        metrics_dir = None
        if settings.observability.metrics_addr is not None:
            metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="wuffchat-metrics-"))
        return _run_workers(settings, stack, metrics_dir)


def _run_workers(settings: Settings, stack: contextlib.ExitStack, metrics_dir: str | None) -> int:
    """Fork and supervise (see `run`); `metrics_dir`: the multiprocess directory when METRICS_ADDR is set.

    Raises:
        StartupError: the address (or METRICS_ADDR) cannot be bound.
    """
    with contextlib.ExitStack() as reserved:
        addr = reserved.enter_context(reserve_port(settings.server.grpc_addr))
        health_addr = settings.server.health_addr
        if health_addr is not None:  # HEALTH_ADDR=host:0 is one port for all workers too
            health_addr = reserved.enter_context(reserve_port(health_addr))
        return _fork_and_supervise(settings, stack, metrics_dir, addr, health_addr)


def _fork_and_supervise(
    settings: Settings, stack: contextlib.ExitStack, metrics_dir: str | None, addr: str, health_addr: str | None
) -> int:
    """`_run_workers` once the ports are reserved: `addr` (GRPC_ADDR's) and `health_addr` (HEALTH_ADDR's)."""
    # Held from before the fork until the parent's handlers exist: workers inherit the blocked mask
    # and serve() unblocks once its own handlers exist, so a SIGTERM during start-up is delayed,
    # never lost and never fatal half-way.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        # the reserved address, validated like any GRPC_ADDR; every other group is shared as it is
        server = ServerSettings.model_validate(
            {**settings.server.model_dump(), "grpc_addr": addr, "health_addr": health_addr}
        )
        workers = _fork_workers(settings.model_copy(update={"server": server}), metrics_dir)
        supervisor = _Supervisor(
            workers, settings.server.shutdown_drain_seconds + settings.server.shutdown_grace_seconds, metrics_dir
        )
        for signum in STOP_SIGNALS:
            signal.signal(signum, supervisor.request_stop)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    metrics_port = None
    if metrics_dir is not None and settings.observability.metrics_addr is not None:
        try:  # after the fork: the endpoint's thread stays in the parent
            endpoint = MetricsEndpoint(settings.observability.metrics_addr, metrics.multiprocess_registry(metrics_dir))
        except OSError:
            supervisor.stop_all()
            supervisor.run()
            raise StartupError(
                f"cannot serve metrics on {settings.observability.metrics_addr} (address in use or not available)"
            ) from None
        stack.callback(endpoint.stop)
        metrics_port = endpoint.port
    log.info(
        "workers started",
        addr=addr,
        health_addr=health_addr,
        pids=[worker.pid for worker in workers],
        metrics_port=metrics_port,
    )
    return supervisor.run()
