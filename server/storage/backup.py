"""Database backups: `python -m server backup FILE` and `python -m server restore FILE`.

SQLite: the online backup API, a consistent copy while the server keeps running. PostgreSQL: `pg_dump`
in its custom format and `pg_restore --clean --single-transaction` (the client tools of the server's major
version on PATH; Debian's `postgresql-client`). The connection comes from DATABASE_URL, with the password
handed over in the environment (PGPASSWORD), never on a command line other users can read.

Sealed fields stay sealed in a backup: without DATA_KEYS it holds nothing personal, so keep the keys apart
from the backups. A backup file is written with mode 0600 and appears whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess  # nosec B404  # pg_dump, pg_restore and psql run as child processes
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from server.storage import pg_tls

SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"
TOOL_TIMEOUT_SECONDS = 3600.0


class BackupError(Exception):
    """A backup or restore could not be made; the message names the cause, never a secret."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int


def backup(database_url: str, target: Path, *, overwrite: bool = False) -> BackupReport:
    """Copy the database of `database_url` to `target`.

    Raises:
        BackupError: `target` exists (without `overwrite`), the database is unreadable, or pg_dump failed.
    """
    url = make_url(database_url)
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_path(url), tmp)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}"], url)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size)


def restore(database_url: str, source: Path, *, force: bool = False) -> None:
    """Replace the database of `database_url` by the backup `source`.

    Raises:
        BackupError: `source` is no backup of this kind of database, the database already holds data
            (without `force`), or pg_restore failed (the restore is one transaction: nothing changed).
    """
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    _check_source(source, SQLITE_HEADER if sqlite else PG_CUSTOM_HEADER)
    if sqlite:
        path = _sqlite_path(url)
        if not force and _sqlite_has_tables(path):
            raise BackupError("the database already holds tables; pass --force to replace them")
        _sqlite_copy(source, path)
        return
    if not force and _postgres_has_tables(url):
        raise BackupError("the database already holds tables; pass --force to replace them")
    restore_command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges"]
    # pg_restore needs the database named; only its name goes on the command line, the rest in PG* variables
    _run([*restore_command, "--single-transaction", "--exit-on-error", f"--dbname={url.database}", str(source)], url)


def _check_source(source: Path, header: bytes) -> None:
    try:
        with source.open("rb") as handle:
            start = handle.read(len(header))
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    if start != header:
        raise BackupError(f"{source} is not a backup of this kind of database")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc


def _sqlite_has_tables(path: Path) -> bool:
    if not path.is_file():
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        row = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return bool(row and row[0])


def _postgres_has_tables(url: URL) -> bool:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    output = _run(["psql", "--no-psqlrc", "--tuples-only", "--no-align", f"--command={query}"], url)
    return output.strip() not in ("", "0")


def _libpq_environment(url: URL) -> dict[str, str]:
    """DATABASE_URL as libpq's variables (the password never on a command line)."""
    env = {**os.environ}
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }
    # TLS exactly as the server connects (server/storage/pg_tls.py): what the URL says, never PGSSL* of
    # the calling environment.
    tls = pg_tls.parse(url)
    for name in ("PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"):
        env.pop(name, None)
    values |= {"PGSSLMODE": tls.mode, "PGSSLROOTCERT": tls.root_cert, "PGSSLCERT": tls.cert, "PGSSLKEY": tls.key}
    env.update({name: value for name, value in values.items() if value})
    return env


def _run(command: list[str], url: URL) -> str:
    try:
        done = subprocess.run(  # noqa: S603  # nosec B603  # a fixed tool name, our own arguments, no shell
            command,
            env=_libpq_environment(url),
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from exc
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{command[0]} took longer than {TOOL_TIMEOUT_SECONDS:.0f} s") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{command[0]} failed: {last}")
    return done.stdout
