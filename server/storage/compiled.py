"""A Core statement compiled once and run on SQLite's DBAPI cursor, inside a SQLAlchemy transaction.

A conversation turn runs three statements (server/conversation/store.py). On the turn thread
(server/storage/transactions.py) SQLAlchemy's execution path (execution context, parameter and result
processing, events) cost more CPU than SQLite running them (issue 14's profile). `Compiled` keeps what
that path gives a turn and drops the rest: the SQL, its parameter order and its types' bind and result
processors are worked out once; the statement runs on the DBAPI connection of the caller's SQLAlchemy
connection, so the transaction, its commit or rollback and the pool stay SQLAlchemy's. Its database span
is the one every statement gets (server/storage/observe.py), and a driver error goes through the
engine's error handling as SQLAlchemy's own execution would send it (DependencyUnavailable, the error
count). On another database (PostgreSQL) it is a plain `connection.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Delete, Dialect, Insert, Select, Update
from sqlalchemy.exc import MultipleResultsFound

from server.storage import observe

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the positional parameters, in order (a name may come twice)
    binds: tuple[Processor, ...]
    defaults: Mapping[str, Any]  # values the statement holds itself (literals bound as parameters)
    results: tuple[Processor, ...]
    columns: tuple[str, ...]


class Compiled:
    """`statement`, run on SQLite's DBAPI cursor with its SQL and processors worked out once.

    `column_keys` names an INSERT's columns (every row of an `executemany` has the same keys).
    """

    def __init__(
        self, statement: Insert | Update | Delete | Select[Any], *, column_keys: Sequence[str] | None = None
    ) -> None:
        self.statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._sqlite: _Plan | None = None  # compiled at the first run on SQLite (one SQL for every pysqlite engine)

    def one_or_none(self, connection: Connection, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The one row the SELECT finds, by column name, or None."""
        plan = self._plan(connection)
        if plan is None:
            found = connection.execute(self.statement, parameters).one_or_none()
            return None if found is None else found._asdict()
        rows = self._run(connection, plan, [parameters]).fetchall()
        if not rows:
            return None
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return {
            name: value if process is None else process(value)
            for name, value, process in zip(plan.columns, rows[0], plan.results, strict=True)
        }

    def execute(self, connection: Connection, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        """Run the statement, once for every row of a sequence (an INSERT of several rows)."""
        plan = self._plan(connection)
        if plan is None:
            connection.execute(self.statement, parameters)
            return
        self._run(connection, plan, [parameters] if isinstance(parameters, Mapping) else list(parameters))

    def rowcount(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run the statement once (an UPDATE or DELETE); the number of rows it changed."""
        plan = self._plan(connection)
        if plan is None:
            return int(getattr(connection.execute(self.statement, parameters), "rowcount", 0))
        return int(self._run(connection, plan, [parameters]).rowcount)

    def _plan(self, connection: Connection) -> _Plan | None:
        """The statement compiled for SQLite; None on another database (run by SQLAlchemy)."""
        if connection.dialect.name != "sqlite":
            return None
        if self._sqlite is None:
            self._sqlite = self._compile(connection.dialect)
        return self._sqlite

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=self._column_keys)
        names = tuple(compiled.positiontup or ())
        selected = self.statement.selected_columns if isinstance(self.statement, Select) else ()
        return _Plan(
            sql=str(compiled),
            names=names,
            binds=tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
            defaults=dict(compiled.params),
            results=tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected),
            columns=tuple(column.name for column in selected),
        )

    def _run(self, connection: Connection, plan: _Plan, rows: Sequence[Mapping[str, Any]]) -> Any:
        positional = [self._positional(plan, row) for row in rows]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with observe.statement_span(connection.dialect.name, plan.sql):
            try:
                if len(positional) == 1:
                    cursor.execute(plan.sql, positional[0])
                else:
                    cursor.executemany(plan.sql, positional)
            except Exception as error:
                # SQLAlchemy's own path for a driver error: the engine's handle_error hooks (translation to
                # DependencyUnavailable, the error count), invalidation on a disconnect, SQLAlchemy's wrapper.
                connection._handle_dbapi_exception(error, plan.sql, positional, cursor, None)
        return cursor

    @staticmethod
    def _positional(plan: _Plan, row: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, process in zip(plan.names, plan.binds, strict=True):
            value = row[name] if name in row else plan.defaults[name]
            values.append(value if process is None else process(value))
        return values
