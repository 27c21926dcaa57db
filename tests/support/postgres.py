"""A real PostgreSQL for the test session.

Uses `TEST_DATABASE_URL` when set (CI starts Debian's cluster); otherwise starts a throwaway cluster
with Debian's binaries on a free 127.0.0.1 port, installing the `postgresql` package first when it is
missing and we are root. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from scripts import system_packages
from tests.support.net import free_port

PASSWORD = "wuffchat-test"


@dataclass
class Postgres:
    """Connection facts of a running server; `admin_url` may create databases."""

    admin_url: str

    def _psql(self, sql: str) -> None:
        url = make_url(self.admin_url)
        env = {**os.environ, "PGPASSWORD": url.password or ""}
        subprocess.run(
            [
                "psql",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "-d",
                url.database or "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ],
            check=True,
            env=env,
            capture_output=True,
        )

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._psql(f'CREATE DATABASE "{name}"')
        return (
            make_url(self.admin_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _install() -> None:
    system_packages.ensure([system_packages.BY_NAME["postgresql"]], _say)


def _say(message: str) -> None:
    print(f"tests/support/postgres: {message}", file=sys.__stderr__, flush=True)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def running_postgres() -> Iterator[Postgres | None]:
    """Yield a running server, or None when PostgreSQL cannot be had on this machine."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield Postgres(admin_url=url)
        return
    bindir = _bindir()
    if bindir is None:
        _install()
        bindir = _bindir()
    if bindir is None:
        yield None
        return
    workdir = Path(tempfile.mkdtemp(prefix="wuffchat-pg-"))
    data, pwfile = workdir / "data", workdir / "pw"
    pwfile.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield Postgres(admin_url=f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        time.sleep(0.2)
        shutil.rmtree(workdir, ignore_errors=True)
