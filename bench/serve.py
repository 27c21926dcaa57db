"""Bench-only server entry: the real server (`python -m server`'s code path) plus what only a benchmark wants.

    python -m bench.serve [--workers N] [--plain-fields] [--bare]

- Settings come from the environment as for `python -m server`; `--workers N` is applied after
  validation, so two workers may keep in-process rate limits (production requires REDIS_URL for
  that; the bench raises the limits so that no limiter shapes the run anyway).
- Every server process (each worker) runs an event-loop lag sampler: a task that sleeps 5 ms and
  records how late it wakes. SIGUSR1 writes what it saw since the last SIGUSR1 to
  `$BENCH_LAG_DIR/lag-<pid>.json` and starts afresh (bench/harness.py sends it around each round).
  No production setting exists for this: it lives here, outside the product.
- `--plain-fields` replaces the field sealer (server/storage/sealing.Cipher) with a pass-through
  before the server starts: the "without encryption" row of issue 18's cost. The product has no
  such switch; this module is never imported by the server.
- `--bare` serves only `grpc.health.v1.Health` on a grpc.aio server without interceptors (the
  baseline the issue compares GetCaptcha with), in N processes on one port like `--workers`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAG_INTERVAL = 0.005


class LagSampler:
    """How late the event loop wakes a task that asked to sleep `LAG_INTERVAL` (the loop's lag)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lags: list[float] = []
        self._dumps = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.dump)
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            self._lags.append(loop.time() - before - LAG_INTERVAL)

    def dump(self) -> None:
        lags, self._lags = sorted(self._lags), []
        self._dumps += 1
        report = {
            "dump": self._dumps,
            "samples": len(lags),
            "p50_ms": lags[len(lags) // 2] * 1000 if lags else 0.0,
            "p99_ms": lags[int(len(lags) * 0.99)] * 1000 if lags else 0.0,
            "max_ms": lags[-1] * 1000 if lags else 0.0,
        }
        target = self._directory / f"lag-{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(report))
        os.replace(tmp, target)


def _plain_fields() -> None:
    """Seal and open as identity: sealed columns hold the plaintext (bench only, see the docstring)."""
    from server.storage import sealing
    from server.storage.keyring import SealedToken

    def seal(self: Any, table: str, column: str, identity: Any, value: Any, *, as_json: bool) -> SealedToken:
        return SealedToken(json.dumps(value, ensure_ascii=False, separators=(",", ":")) if as_json else value)

    def open_(self: Any, table: str, column: str, identity: Any, token: str, *, as_json: bool) -> Any:
        return json.loads(token) if as_json else token

    sealing.Cipher.seal = seal  # type: ignore[method-assign]
    sealing.Cipher.open = open_  # type: ignore[method-assign]


def _serve(workers: int) -> int:
    import uvloop

    from server import workers as worker_processes
    from server.app import serve
    from server.config import load_settings
    from server.log import configure_logging

    lag_dir = Path(os.environ["BENCH_LAG_DIR"])

    async def serve_sampled(settings: Any, *, migrate_schema: bool = True, metrics: Any = None) -> None:
        sampler = asyncio.ensure_future(LagSampler(lag_dir).run())
        try:
            await serve(settings, migrate_schema=migrate_schema, metrics=metrics)
        finally:
            sampler.cancel()

    loaded = load_settings({**os.environ, "WORKERS": "1"})
    # Bench only: N workers with in-process rate limits each (production refuses WORKERS > 1 without
    # REDIS_URL); the benchmark raises every limit, so sharing them would only add Redis round trips.
    settings = loaded.model_copy(update={"server": loaded.server.model_copy(update={"workers": workers})})
    configure_logging(settings.server.log_level)
    if workers > 1:
        worker_processes.serve = serve_sampled  # type: ignore[attr-defined]  # what each forked worker runs
        return worker_processes.run(settings)
    uvloop.run(serve_sampled(settings))  # the loop server/__main__.py runs
    return 0


def _bare_process(addr: str, reuse: bool) -> None:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 1 if reuse else 0)])
        servicer = health.aio.HealthServicer()
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port(addr)
        await server.start()
        print(json.dumps({"event": "listening", "port": port, "pid": os.getpid()}), flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.stop(0)

    asyncio.run(main())


def _bare(workers: int) -> int:
    """N bare processes on one port (forked before any gRPC object exists, as server/workers.py does)."""
    from server.workers import reserve_port

    addr = os.environ.get("GRPC_ADDR", "127.0.0.1:0")
    if workers == 1:
        _bare_process(addr, reuse=False)
        return 0
    with reserve_port(addr) as bound:
        context = multiprocessing.get_context("fork")
        children = [context.Process(target=_bare_process, args=(bound, True)) for _ in range(workers)]
        for child in children:
            child.start()
        signal.signal(signal.SIGTERM, lambda *_: [child.terminate() for child in children])
        while any(child.is_alive() for child in children):
            time.sleep(0.2)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--plain-fields", action="store_true", help="pass-through instead of sealing (bench only)")
    parser.add_argument("--bare", action="store_true", help="Health only, no interceptors")
    args = parser.parse_args()
    if args.bare:
        return _bare(args.workers)
    if args.plain_fields:
        _plain_fields()
    return _serve(args.workers)


if __name__ == "__main__":
    sys.exit(main())
