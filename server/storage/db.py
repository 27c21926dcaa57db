"""Create the async engine (SQLite with WAL, or PostgreSQL via asyncpg) and check it is reachable.

This is the storage boundary: a database that cannot answer (connection refused or lost, timed out,
locked, shutting down) surfaces from every engine built here as `rpc.errors.DependencyUnavailable`
("database", the SQLAlchemy error as its cause), so nothing above storage knows the drivers' errors.
Errors of the statement itself (a violated constraint, a bug in SQL) stay SQLAlchemy's own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from rpc.errors import DependencyUnavailable
from server.storage import pg_tls

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 3.0
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement past statement_timeout (or cancelled)


@dataclass(frozen=True)
class Pool:
    """PostgreSQL connection pool and per-statement limits (DB_POOL_SIZE & co.); SQLite ignores them."""

    size: int = 10
    max_overflow: int = 10
    timeout_seconds: float = 5.0
    connect_timeout_seconds: float = PING_TIMEOUT_SECONDS
    statement_timeout_seconds: float = 0.0  # 0: no limit

    def connect_args(self) -> dict[str, Any]:
        """asyncpg's connect arguments: its connect timeout and, when set, the session's statement_timeout."""
        args: dict[str, Any] = {"timeout": self.connect_timeout_seconds}
        if self.statement_timeout_seconds > 0:
            args["server_settings"] = {"statement_timeout": str(round(self.statement_timeout_seconds * 1000))}
        return args


DEFAULT_POOL = Pool()


def safe_url(database_url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(database_url).render_as_string(hide_password=True)


def _sqlite_file(url: URL) -> Path | None:
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: no fsync per commit (only at checkpoints); a crash of the process loses nothing,
    # a power loss at most the last commits, and never corrupts the file. It trebles write throughput.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _unavailable(context: ExceptionContext) -> BaseException | None:
    """The `DependencyUnavailable` to raise instead of a driver error that means "cannot answer now".

    Only the driver's own errors (SQLAlchemy wraps them in `sqlalchemy_exception`): a cancellation
    also counts as a "disconnect" for SQLAlchemy, and it must stay a cancellation.
    """
    error = context.sqlalchemy_exception
    if error is None or not isinstance(context.original_exception, Exception):
        return None
    if context.is_disconnect or isinstance(error, exc.OperationalError | exc.InterfaceError):
        return DependencyUnavailable("database")
    if getattr(context.original_exception, "sqlstate", None) == QUERY_CANCELED:  # DB_STATEMENT_TIMEOUT_SECONDS
        return DependencyUnavailable("database")  # SQLAlchemy raises it `from` the driver's error
    return None


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a DBAPI connection; a network failure the driver does not translate is `DependencyUnavailable`."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:  # refused, unreachable, timed out (TimeoutError is an OSError)
        raise DependencyUnavailable("database") from error


def create_engine(database_url: str, pool: Pool = DEFAULT_POOL) -> AsyncEngine:
    """Build the engine; for SQLite create the file's folder and turn on WAL and foreign keys; for
    PostgreSQL the URL's `sslmode`, `sslrootcert`, `sslcert`, `sslkey` become asyncpg's TLS context and
    `pool` sizes the connection pool and sets the connect and statement timeouts.

    Statements, connects and commits on it raise `DependencyUnavailable` where the database cannot
    answer (see the module docstring).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    else:
        url, ssl_argument = pg_tls.split(url)  # sslmode & co. as asyncpg's `ssl` (server/storage/pg_tls.py)
        engine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_seconds,
            connect_args={**pool.connect_args(), "ssl": ssl_argument},
        )
    event.listen(engine.sync_engine, "handle_error", _unavailable)
    event.listen(engine.sync_engine, "do_connect", _connect)
    return engine


def sqlite_twin(engine: AsyncEngine) -> Engine | None:
    """A synchronous (pysqlite) engine on the same SQLite file as `engine`, with its settings and error
    translation, for work run on a thread of its own (server/storage/transactions.py); None when
    `engine` is not a SQLite file (PostgreSQL, or an in-memory database another engine cannot see)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or _sqlite_file(url) is None:
        return None
    twin = create_sync_engine(url.set(drivername="sqlite"), connect_args={"check_same_thread": False})
    event.listen(twin, "connect", _on_sqlite_connect)
    event.listen(twin, "handle_error", _unavailable)
    event.listen(twin, "do_connect", _connect)
    return twin


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine, limit_seconds: float = PING_TIMEOUT_SECONDS) -> bool:
    """True when a `SELECT 1` succeeds within `limit_seconds`."""
    try:
        async with asyncio.timeout(limit_seconds), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or network error means "not reachable"
        log.debug("database ping failed: %s", type(exc).__name__)
        return False
    return True


async def wait_until_reachable(engine: AsyncEngine, budget_seconds: float) -> bool:
    """Retry `ping` with exponential backoff (0.2 s doubling to 5 s) for at most `budget_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_seconds
    delay = 0.2
    while True:
        if await ping(engine):
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        log.warning("database not reachable, retrying in %.1f s", min(delay, remaining))
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 5.0)
