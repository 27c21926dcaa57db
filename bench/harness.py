"""What the end-to-end benchmarks share: the real server as its own process, a load generator in another.

- `Server` starts `python -m bench.serve` (the server's own start-up code, see bench/serve.py) with
  embedded defaults: SQLite in a temporary folder, in-process rate limits raised so that no limiter
  shapes the run, the offline responder, API keys from the environment, JSON logs to a file. It
  waits for every worker's "listening" line and for Health SERVING. `bare=True` starts the bare
  baseline instead: Health on a grpc.aio server without interceptors.
- Server CPU is utime+stime from /proc/<pid>/stat, summed over the server process and all its
  descendants (the `--workers` children), read right before and after the timed part of a round.
- Event-loop lag comes from each server process's own sampler (bench/serve.py), dumped on SIGUSR1.
- `LoadGenerator` is one separate process (multiprocessing, spawn) with its own grpc.aio client:
  each `run()` sends it a workload (an importable async function) and gets the round's figures back.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Per second, not per minute: the in-memory moving window keeps every hit of its window, and a minute
# of bench traffic (100,000s of hits) would make the limiter, not the calls, the measured cost.
RAISED_LIMITS = ",".join(
    f"{name}=1000000/second"
    for name in ("default", "StartConversation", "SendMessage", "StreamMessage", "GetCaptcha", "Login", "Register")
)


def api_key(index: int) -> str:
    return f"wck_bench-{index:03d}-{'0123456789abcdef' * 2}"


def api_keys_env(count: int) -> str:
    return ",".join(f"bench-{i}:service:{api_key(i)}" for i in range(count))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the --workers children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime+stime of `pids` (a process that has gone counts nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


@dataclass
class Server:
    """A server (or the bare baseline) as its own process tree; `close()` stops it."""

    workers: int
    bare: bool = False
    plain_fields: bool = False
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    pids: list[int] = field(default_factory=list)  # the processes that serve (workers, or the one server)
    lag_pids: list[int] = field(default_factory=list)
    _folder: tempfile.TemporaryDirectory[str] | None = None
    _process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Server:
        self._folder = tempfile.TemporaryDirectory(prefix="wuffchat-bench-")
        folder = Path(self._folder.name)
        self.port = _free_port()
        env = {
            **os.environ,
            "APP_ENV": "dev",
            "GRPC_ADDR": f"127.0.0.1:{self.port}",
            "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
            "DATA_KEYS": f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
            "KNOWLEDGE_OVERLAY_DIR": f"{folder}/overlay",
            "CACHE_DIR": str(ROOT / "var" / "cache"),  # the knowledge base's embeddings, shared between runs
            "SECRET_KEY": secrets.token_urlsafe(48),
            "RATE_LIMITS": RAISED_LIMITS,
            # One client connection carries all calls; at the default of 100, grpc core refused streams
            # (RST_STREAM REFUSED_STREAM) at 64 in flight under GetCaptcha load: finished calls' streams are
            # counted until released. Raised so that the bench measures the calls, not that limit.
            "MAX_STREAMS_PER_CONNECTION": "1000",
            "BENCH_LAG_DIR": str(folder),
            **self.env,
        }
        command = [sys.executable, "-m", "bench.serve", "--workers", str(self.workers)]
        command += ["--bare"] if self.bare else []
        command += ["--plain-fields"] if self.plain_fields else []
        self._log = folder / "server.log"
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while self._listening() < self.workers:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + self._log.read_text()[-4000:])
            time.sleep(0.2)
        _wait_serving(self.port, deadline)
        self.pids = descendants(self._process.pid)
        self.lag_pids = [] if self.bare else [p for p in self.pids if p != self._process.pid or self.workers == 1]
        return self

    def _listening(self) -> int:
        count = 0
        with self._log.open() as lines:
            for line in lines:
                if '"listening"' in line:
                    count += 1
        return count

    @property
    def lag_dir(self) -> str:
        assert self._folder is not None
        return self._folder.name

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                for pid in descendants(self._process.pid):
                    os.kill(pid, signal.SIGKILL)
                self._process.wait()
        if self._folder is not None:
            self._folder.cleanup()


def _wait_serving(port: int, deadline: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"health not SERVING on port {port}")
            time.sleep(0.2)


# ---- the load generator's side (runs in its own process) ----

IN_FLIGHT_PER_CONNECTION = 4


class Connections:
    """Several TCP connections to one port (`grpc.use_local_subchannel_pool`: channels to the same target
    share one connection otherwise). With --workers N the kernel spreads connections, not calls, over
    the workers (SO_REUSEPORT), so one connection would load one worker only. Calls take a connection
    by their coroutine's index."""

    def __init__(self, port: int, concurrency: int) -> None:
        import grpc

        count = max(1, concurrency // IN_FLIGHT_PER_CONNECTION)
        options = [("grpc.use_local_subchannel_pool", 1)]
        self.channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(count)]

    def __getitem__(self, index: int) -> Any:
        return self.channels[index % len(self.channels)]

    async def __aenter__(self) -> Connections:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for channel in self.channels:
            await channel.close()


class Meter:
    """Handed to a workload: `start()` and `stop()` bracket the timed part (server CPU, wall time, loop lag)."""

    def __init__(self, pids: Sequence[int], lag_pids: Sequence[int], lag_dir: str) -> None:
        self._pids, self._lag_pids, self._lag_dir = list(pids), list(lag_pids), Path(lag_dir)
        self.cpu = self.elapsed = 0.0
        self.lag: dict[str, float] = {}

    def _signal_lag(self) -> dict[int, int]:
        seen = {pid: self._dump_number(pid) for pid in self._lag_pids}
        for pid in self._lag_pids:
            os.kill(pid, signal.SIGUSR1)
        return seen

    def _dump_number(self, pid: int) -> int:
        try:
            return int(json.loads((self._lag_dir / f"lag-{pid}.json").read_text())["dump"])
        except (OSError, ValueError, KeyError):
            return 0

    def start(self) -> None:
        self._signal_lag()  # starts every sampler afresh
        self._cpu0, self._t0 = cpu_seconds(self._pids), time.perf_counter()

    def stop(self) -> None:
        self.elapsed = time.perf_counter() - self._t0
        self.cpu = cpu_seconds(self._pids) - self._cpu0
        seen = self._signal_lag()
        reports = []
        for pid, before in seen.items():
            deadline = time.monotonic() + 5
            while self._dump_number(pid) <= before and time.monotonic() < deadline:
                time.sleep(0.01)
            reports.append(json.loads((self._lag_dir / f"lag-{pid}.json").read_text()))
        if reports:
            self.lag = {
                "p99_ms": max(r["p99_ms"] for r in reports),
                "max_ms": max(r["max_ms"] for r in reports),
            }


@dataclass(frozen=True)
class Job:
    """A workload (`module:function`, an async function of (port, meter, **kwargs) returning a dict)."""

    workload: str
    port: int
    pids: tuple[int, ...]
    lag_pids: tuple[int, ...]
    lag_dir: str
    kwargs: dict[str, Any]


def _load_process(connection: Connection) -> None:
    while True:
        job: Job | None = connection.recv()
        if job is None:
            return
        module, _, name = job.workload.partition(":")
        workload: Callable[..., Awaitable[dict[str, Any]]] = getattr(importlib.import_module(module), name)
        meter = Meter(job.pids, job.lag_pids, job.lag_dir)
        result = asyncio.run(workload(job.port, meter, **job.kwargs))
        result.update(cpu=meter.cpu, elapsed=meter.elapsed, lag=meter.lag)
        connection.send(result)


class LoadGenerator:
    """One load process for the whole run (spawned: no state shared with this one)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_load_process, args=(child,), name="load", daemon=True)
        self._process.start()

    def run(self, workload: str, server: Server, **kwargs: Any) -> dict[str, Any]:
        job = Job(workload, server.port, tuple(server.pids), tuple(server.lag_pids), server.lag_dir, kwargs)
        self._connection.send(job)
        result: dict[str, Any] = self._connection.recv()
        return result

    def close(self) -> None:
        self._connection.send(None)
        self._process.join(10)


# ---- workloads shared by the benchmarks ----


async def keep_in_flight(
    calls: Sequence[Callable[[], Awaitable[object]]], meter: Meter, *, seconds: float, concurrency: int
) -> tuple[list[float], int]:
    """Keep `concurrency` calls in flight for `seconds` (worker i sends with `calls[i % len(calls)]`, one per
    connection), metered; the latencies of the calls that succeeded, and how many failed."""
    import grpc

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    errors = 0

    async def worker(index: int) -> None:
        nonlocal errors
        call = calls[index % len(calls)]
        while time.perf_counter() < deadline:
            begin = time.perf_counter()
            try:
                await call()
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - begin)

    meter.start()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    meter.stop()
    return latencies, errors


async def unary_load(
    port: int,
    meter: Meter,
    *,
    method: str,
    request: bytes,
    seconds: float,
    concurrency: int,
    metadata: Sequence[tuple[str, str]] = (),
    warmup: int = 200,
) -> dict[str, Any]:
    """Keep `concurrency` calls of one unary method in flight for `seconds` (request and response as bytes)."""

    async with Connections(port, concurrency) as connections:
        calls = [
            c.unary_unary(method, request_serializer=None, response_deserializer=None) for c in connections.channels
        ]
        for i in range(warmup):
            await calls[i % len(calls)](request, metadata=tuple(metadata))
        senders = [functools.partial(call, request, metadata=tuple(metadata)) for call in calls]
        latencies, errors = await keep_in_flight(senders, meter, seconds=seconds, concurrency=concurrency)
    return {"latencies": latencies, "calls": len(latencies), "errors": errors}


def _unary_round(
    gen: LoadGenerator, server: Server, method: str, request: bytes, seconds: float, concurrency: int
) -> dict[str, Any]:
    return gen.run(
        "bench.harness:unary_load", server, method=method, request=request, seconds=seconds, concurrency=concurrency
    )


def health_round(gen: LoadGenerator, server: Server, seconds: float, concurrency: int = 64) -> dict[str, Any]:
    from grpc_health.v1 import health_pb2

    request = health_pb2.HealthCheckRequest().SerializeToString()
    return _unary_round(gen, server, "/grpc.health.v1.Health/Check", request, seconds, concurrency)


def captcha_round(gen: LoadGenerator, server: Server, seconds: float, concurrency: int = 64) -> dict[str, Any]:
    from wuffchat.auth.v1 import auth_service_pb2

    request = auth_service_pb2.GetCaptchaRequest().SerializeToString()
    return _unary_round(gen, server, "/wuffchat.auth.v1.AuthService/GetCaptcha", request, seconds, concurrency)


# ---- summaries ----


@dataclass
class Totals:
    """One row's figures added up over its rounds."""

    latencies: list[float] = field(default_factory=list)
    calls: int = 0
    units: int = 0  # conversations, where a row counts them
    cpu: float = 0.0
    elapsed: float = 0.0
    lag_p99: float = 0.0
    lag_max: float = 0.0
    per_round: list[float] = field(default_factory=list)  # calls per second of each round
    errors: int = 0  # calls that failed (not in the other figures)

    def add(self, result: dict[str, Any]) -> None:
        self.errors += result.get("errors", 0)
        self.latencies += result["latencies"]
        self.calls += result["calls"]
        self.units += result.get("units", 0)
        self.cpu += result["cpu"]
        self.elapsed += result["elapsed"]
        self.per_round.append(result["calls"] / result["elapsed"])
        if result["lag"]:
            self.lag_p99 = max(self.lag_p99, result["lag"]["p99_ms"])
            self.lag_max = max(self.lag_max, result["lag"]["max_ms"])

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else 0.0

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.calls * 1000 if self.calls else 0.0

    def spread(self) -> str:
        if not self.per_round:
            return ""
        return f"{min(self.per_round):,.0f}-{max(self.per_round):,.0f}"


def machine_line() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
