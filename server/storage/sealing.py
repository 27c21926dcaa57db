"""Sealing at the storage boundary: personal fields are encrypted on their way into the database and
opened on their way out, in this one place, for every reader and writer of the ORM models.

A model lists its sealed fields in `__sealed__` (models.py). ORM events on the declarative base seal
those fields just before an INSERT or UPDATE (and restore the plaintext on the instance afterwards) and
open them when a row is loaded, so services, export, retention and tests only ever see plaintext and
the database only ever ciphertext. A sealed column refuses plain text outright (models.Sealed), so a
Core statement cannot write plaintext by mistake; the Core statements that write sealed columns (a
turn's slots and messages, conversation/store.py) seal through `seal_value`, and the Core SELECT that
reads a turn's conversation opens through `open_value`. The cipher (keyring plus
blind-index key) belongs to the engine: `attach` binds it once at start (data_keys.unlock), and an
engine without one refuses to touch sealed fields.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper, QueryContext, attributes

from server.storage.keyring import Keyring, SealedToken, aad


class NoCipherError(RuntimeError):
    """Sealed fields were touched through an engine that has no data keys attached (a programming error)."""


@dataclass(frozen=True)
class SealedFields:
    """What a model seals: `text` fields hold str, `json` fields JSON values; `identity` names the
    columns that identify the row (its associated data); `blind` maps a text field to the column that
    holds its keyed blind index (HMAC-SHA-256), for lookups and uniqueness without decrypting."""

    identity: tuple[str, ...]
    text: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    blind: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.text, *self.json)


class Cipher:
    """Seals and opens field values; `blind` gives the keyed index of a value."""

    def __init__(self, keyring: Keyring, index_key: bytes) -> None:
        self.keyring = keyring
        self.index_key = index_key

    def blind(self, value: str) -> str:
        return hmac.new(self.index_key, value.encode(), hashlib.sha256).hexdigest()

    def seal(self, table: str, column: str, identity: Sequence[object], value: Any, *, as_json: bool) -> SealedToken:
        raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")) if as_json else value
        return self.keyring.seal(raw.encode(), aad(table, column, identity))

    def open(self, table: str, column: str, identity: Sequence[object], token: str, *, as_json: bool) -> Any:
        """The value of `token`.

        Raises:
            UnreadableValueError: see Keyring.open.
        """
        where = f"{table}.{column} of row {'/'.join(str(p) for p in identity)}"
        text = self.keyring.open(token, aad(table, column, identity), where=where).decode()
        return json.loads(text) if as_json else text


_CIPHERS: weakref.WeakKeyDictionary[Dialect, Cipher] = weakref.WeakKeyDictionary()
_TWINS: weakref.WeakKeyDictionary[Dialect, Dialect] = weakref.WeakKeyDictionary()  # twin -> its engine's


def attach(engine: AsyncEngine, cipher: Cipher) -> None:
    """Make `cipher` seal and open every sealed field written or read through `engine`."""
    _CIPHERS[engine.sync_engine.dialect] = cipher


def share(engine: AsyncEngine, twin: Engine) -> None:
    """Let `twin`, another engine on the same database (db.sqlite_twin), seal and open with whatever cipher
    `engine` has, now or once attached."""
    _TWINS[twin.dialect] = engine.sync_engine.dialect


def cipher_of(engine: AsyncEngine) -> Cipher:
    return _cipher(engine.sync_engine.dialect)


def _cipher(dialect: Dialect) -> Cipher:
    try:
        return _CIPHERS[_TWINS.get(dialect, dialect)]
    except KeyError:
        raise NoCipherError("this engine has no data keys attached (server.storage.data_keys.unlock)") from None


def _spec(target: object) -> SealedFields | None:
    return getattr(type(target), "__sealed__", None)


def _identity(target: object, spec: SealedFields) -> tuple[object, ...]:
    parts = tuple(getattr(target, name) for name in spec.identity)
    if any(part is None for part in parts):
        raise ValueError(f"{type(target).__name__}: identity {spec.identity} must be set before the row is written")
    return tuple(p.astimezone(UTC).isoformat() if isinstance(p, datetime) else p for p in parts)


def seal_value(engine: AsyncEngine, model: type, column: str, identity: Sequence[object], value: Any) -> SealedToken:
    """`value` sealed for `model.column` of the row `identity`, for a Core UPDATE of a sealed column."""
    spec: SealedFields | None = getattr(model, "__sealed__", None)
    assert spec is not None and column in spec.names, f"{model.__name__}.{column} is not sealed"
    table = model.__tablename__  # type: ignore[attr-defined]
    return cipher_of(engine).seal(table, column, identity, value, as_json=column in spec.json)


def open_value(engine: AsyncEngine, model: type, column: str, identity: Sequence[object], token: str | None) -> Any:
    """The plain value of `model.column`'s `token` in the row `identity`, for a Core SELECT (None stays None).

    Raises:
        UnreadableValueError: see Keyring.open.
    """
    spec: SealedFields | None = getattr(model, "__sealed__", None)
    assert spec is not None and column in spec.names, f"{model.__name__}.{column} is not sealed"
    if token is None:
        return None
    table = model.__tablename__  # type: ignore[attr-defined]
    return cipher_of(engine).open(table, column, identity, token, as_json=column in spec.json)


def _seal(mapper: Mapper[Any], connection: Connection, target: Any, *, only_changed: bool) -> None:
    spec = _spec(target)
    if spec is None:
        return
    names = [n for n in spec.names if not only_changed or attributes.get_history(target, n).has_changes()]
    if not names:
        return
    cipher = _cipher(connection.dialect)
    identity = _identity(target, spec)
    table = type(target).__tablename__
    plain = target.__dict__.setdefault("_sealing_plain", {})
    for name in names:
        value = getattr(target, name)
        plain[name] = value
        if name in spec.blind:
            setattr(target, spec.blind[name], None if value is None else cipher.blind(value))
        if value is not None:
            setattr(target, name, cipher.seal(table, name, identity, value, as_json=name in spec.json))


def _before_insert(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    _seal(mapper, connection, target, only_changed=False)


def _before_update(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    _seal(mapper, connection, target, only_changed=True)


def _after_write(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    for name, value in target.__dict__.pop("_sealing_plain", {}).items():
        attributes.set_committed_value(target, name, value)


def _open(target: Any, context: QueryContext, names: Sequence[str] | None) -> None:
    spec = _spec(target)
    if spec is None:
        return
    loaded = target.__dict__
    wanted = [n for n in spec.names if (names is None or n in names) and loaded.get(n) is not None]
    if not wanted:
        return
    cipher = _cipher(context.session.get_bind().dialect)
    identity = _identity(target, spec)
    table = type(target).__tablename__
    for name in wanted:
        value = cipher.open(table, name, identity, loaded[name], as_json=name in spec.json)
        attributes.set_committed_value(target, name, value)


def _on_load(target: Any, context: QueryContext) -> None:
    _open(target, context, None)


def _on_refresh(target: Any, context: QueryContext, attrs: Sequence[str] | None) -> None:
    _open(target, context, attrs)


def install(base: type) -> None:
    """Hook sealing into every model derived from `base` (models.py calls this once)."""
    event.listen(base, "before_insert", _before_insert, propagate=True)
    event.listen(base, "before_update", _before_update, propagate=True)
    event.listen(base, "after_insert", _after_write, propagate=True)
    event.listen(base, "after_update", _after_write, propagate=True)
    event.listen(base, "load", _on_load, propagate=True)
    event.listen(base, "refresh", _on_refresh, propagate=True)
