"""A real PostgreSQL for the test session.

Uses `TEST_DATABASE_URL` when set (CI starts Debian's cluster); otherwise starts a throwaway cluster
with Debian's binaries on a free 127.0.0.1 port, installing the `postgresql` package first when it is
missing and we are root. Each test gets a database of its own. `throwaway_cluster` starts one with
settings and files of a test's own (TLS, tests/storage/test_pg_tls.py) whatever TEST_DATABASE_URL says.
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
from collections.abc import Iterator, Mapping, Sequence
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
    with throwaway_cluster() as postgres:
        yield postgres


@contextmanager
def throwaway_cluster(
    *, settings: Mapping[str, str] | None = None, files: Mapping[str, Path] | None = None,
    hba_first: Sequence[str] = (), listen: str = "127.0.0.1",
) -> Iterator[Postgres | None]:  # fmt: skip
    """A cluster of our own in a temporary folder, stopped and removed afterwards; None without binaries.

    `files` are copied into the data folder (owned by postgres, mode 0600) under their names, so
    `settings` (postgresql.conf entries such as `ssl=on`, `ssl_cert_file=server.pem`) can name them;
    `hba_first` lines go before initdb's pg_hba.conf entries.
    """
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
    for name, source in (files or {}).items():
        target = data / name
        shutil.copyfile(source, target)
        target.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(target, "postgres", "postgres")
    if hba_first:
        hba = data / "pg_hba.conf"
        hba.write_text("\n".join(hba_first) + "\n" + hba.read_text())
    if settings:  # in postgresql.conf, not on the command line, so ALTER SYSTEM and a reload can change them
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
    options = f"-p {port} -c listen_addresses={listen} -k {workdir} -c fsync=off"
    started = subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"]
        ),
        check=False,
        capture_output=True,
    )
    try:
        if started.returncode != 0:
            log = (workdir / "log").read_text(errors="replace") if (workdir / "log").exists() else ""
            raise AssertionError(f"PostgreSQL did not start: {started.stderr!r}\n{log[-3000:]}")
        yield Postgres(admin_url=f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        time.sleep(0.2)
        shutil.rmtree(workdir, ignore_errors=True)
