"""Whole conversations per second through Envoy with 1 and 3 instances, and failed calls while one is
killed (kill -9) and during a rolling restart (issue 15).

    .venv/bin/python -m bench.fleet [--seconds 8] [--concurrency 16] [--sizes 1 3] [--database-url URL]

Each fleet is `scripts/fleet.py` (what `make fleet` runs): N `python -m server` instances sharing one
PostgreSQL database (a throwaway cluster unless `--database-url` names an empty one) and one Redis, the
real Envoy in front in fleet mode. The load is bench/conversation.py's workload (StartConversation and
10 SendMessage turns, `--concurrency` conversations in flight, an API key per coroutine) from a separate
process (bench/harness.py), sent to Envoy's port. A conversation with a failed call is abandoned and
counted as failed. For the largest fleet two more rounds run: one instance killed with SIGKILL 2 s into
the round, and every instance restarted in turn (SIGTERM, drained, started again).
Server CPU is the instances' and Envoy's utime+stime over the timed part.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RAISED_LIMITS, LoadGenerator, Totals, api_keys_env, machine_line
from scripts.fleet import Fleet
from scripts.render_envoy import Address
from tests.support.net import free_port
from tests.support.postgres import running_postgres
from tests.support.redis import running_redis


@dataclass
class FleetTarget:
    """What LoadGenerator.run needs of a server: Envoy's port and the processes to meter."""

    port: int
    pids: list[int] = field(default_factory=list)
    lag_pids: list[int] = field(default_factory=list)
    lag_dir: str = ""


def _target(fleet: Fleet, lag_dir: str) -> FleetTarget:
    pids = [i.process.pid for i in fleet.instances if i.process is not None and i.running]
    if fleet.envoy is not None:
        pids.append(fleet.envoy.pid)
    return FleetTarget(fleet.listen.port, pids, [], lag_dir)


@contextlib.contextmanager
def _fleet(size: int, database_url: str, redis_url: str, concurrency: int) -> Iterator[Fleet]:
    with tempfile.TemporaryDirectory(prefix="wuffchat-bench-fleet-") as workdir:
        fleet = Fleet(
            database_url,
            redis_url,
            Path(workdir),
            size=size,
            ports=[free_port() for _ in range(size)],
            listen=Address("127.0.0.1", free_port()),
            admin=Address("127.0.0.1", free_port()),
            server_env={
                "APP_ENV": "dev",
                "API_KEYS": api_keys_env(concurrency),
                "RATE_LIMITS": RAISED_LIMITS,
                "LOG_LEVEL": "INFO",
                "HEALTH_CHECK_INTERVAL_SECONDS": "1",
            },
        )
        fleet.start()
        try:
            yield fleet
        finally:
            fleet.stop()


def _round(gen: LoadGenerator, fleet: Fleet, seconds: float, concurrency: int, lag_dir: str) -> dict[str, Any]:
    return gen.run(
        "bench.conversation:conversations", _target(fleet, lag_dir), seconds=seconds, concurrency=concurrency
    )  # type: ignore[arg-type]


def _during(gen: LoadGenerator, fleet: Fleet, seconds: float, concurrency: int, lag_dir: str, action: Any) -> Any:
    """A round of `seconds` with `action(fleet)` run beside it, 2 s in (it must end within the round)."""
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(_round(gen, fleet, seconds, concurrency, lag_dir)))
    runner.start()
    time.sleep(2)  # the load is running: a point in the round, not a wait for a condition
    action(fleet)
    runner.join()
    return result


def _rolling(fleet: Fleet) -> None:
    for instance in fleet.instances:
        fleet.terminate(instance.index)
        fleet.restart(instance.index)


def _kill(fleet: Fleet) -> None:
    fleet.kill(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--database-url", help="an empty postgresql+asyncpg:// database per size is made otherwise")
    args = parser.parse_args()
    print(machine_line())
    rows: list[tuple[str, int, Totals]] = []
    gen = LoadGenerator()
    try:
        with running_postgres() as postgres, running_redis() as redis, tempfile.TemporaryDirectory() as lag_dir:
            assert postgres is not None and redis is not None, "PostgreSQL and redis-server are needed"
            for size in args.sizes:
                url = args.database_url or postgres.create_database()
                redis.flush()
                with _fleet(size, url, redis.url, args.concurrency) as fleet:
                    _round(gen, fleet, 2, args.concurrency, lag_dir)  # warm-up: connections, caches
                    totals = Totals()
                    totals.add(_round(gen, fleet, args.seconds, args.concurrency, lag_dir))
                    rows.append(("steady", size, totals))
                    if size == max(args.sizes) and size > 1:
                        t = Totals()
                        t.add(_during(gen, fleet, args.seconds, args.concurrency, lag_dir, _kill))
                        rows.append(("kill -9 of one instance", size, t))
                        started = time.monotonic()
                        fleet.restart(1)
                        restart = time.monotonic() - started
                        # The load must outlast the whole rolling restart: each instance drains and starts again.
                        seconds = 4 + size * (restart + fleet.drain_seconds + 2)
                        t = Totals()
                        t.add(_during(gen, fleet, seconds, args.concurrency, lag_dir, _rolling))
                        rows.append((f"rolling restart ({seconds:.0f} s)", size, t))
                if not args.database_url:
                    postgres.drop_database(url)
    finally:
        gen.close()
    print(f"conversations: {args.concurrency} in flight through Envoy, {args.seconds:g} s per round")
    print()
    print("| round | instances | conv/s | calls/s | SendMessage p50 ms | p99 ms | CPU ms/call | failed calls |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, size, t in rows:
        conv = t.units / t.elapsed if t.elapsed else 0.0
        cpu = f"{t.cpu_ms:.2f}" if name == "steady" else "n/a"  # processes die and start during the round
        print(
            f"| {name} | {size} | {conv:.1f} | {t.rate:,.0f} | {t.quantile(0.5):.1f} | {t.quantile(0.99):.1f} "
            f"| {cpu} | {t.errors} |"
        )


if __name__ == "__main__":
    main()
