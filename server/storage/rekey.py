"""`python -m server rekey`: re-seal every value that an older data key sealed with the active key.

Run it after making a new key active (first in DATA_KEYS, the old ones still listed) and restarting
every server with that ring. It works in batches of short transactions, each re-sealing the rows that
still carry another key id, so it is idempotent and resumable: stopped half-way, the next run picks up
what is left. When no row is left, the blind-index key is re-sealed with the active key and the
canaries of the other keys go (server/storage/data_keys.py): from then on a start without them works.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Text, and_, func, not_, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import attributes

from server.storage import data_keys
from server.storage.db import session_factory
from server.storage.keyring import PREFIX
from server.storage.models import Base, Conversation, Feedback, Message, User
from server.storage.sealing import Cipher, SealedFields

SEALED_MODELS: tuple[type[Base], ...] = (User, Conversation, Message, Feedback)
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class RekeyReport:
    """Rows re-sealed by this run, rows still sealed with another key (0 when done), the active key id."""

    rows: int
    left: int
    active_id: int

    @property
    def done(self) -> bool:
        return self.left == 0


def _spec(model: type[Base]) -> SealedFields:
    spec: SealedFields = getattr(model, "__sealed__")  # noqa: B009 (a class attribute mypy cannot see)
    return spec


def _stale(model: type[Base], active_id: int) -> ColumnElement[bool]:
    """Rows of `model` with at least one value sealed by a key other than `active_id`."""
    prefix = f"{PREFIX}.{active_id}."
    columns = [type_coerce(getattr(model, name), Text) for name in _spec(model).names]
    return or_(*(and_(column.is_not(None), not_(column.startswith(prefix))) for column in columns))


async def count_stale(engine: AsyncEngine, active_id: int) -> int:
    async with session_factory(engine)() as session:
        total = 0
        for model in SEALED_MODELS:
            total += int(
                await session.scalar(select(func.count()).select_from(model).where(_stale(model, active_id))) or 0
            )
        return total


async def run(
    engine: AsyncEngine, cipher: Cipher, *, batch: int = DEFAULT_BATCH, max_batches: int | None = None
) -> RekeyReport:
    """Re-seal every stale row of `engine` (whose cipher is `cipher`, attached by data_keys.unlock);
    with `max_batches`, stop after that many transactions (the next run goes on from there).

    Raises:
        UnreadableValueError: a stored value does not open (altered or moved); nothing after it is done.
    """
    active = cipher.keyring.active_id
    sessions = session_factory(engine)
    done = batches = 0
    for model in SEALED_MODELS:
        names = _spec(model).names
        key_columns = model.__mapper__.primary_key
        while max_batches is None or batches < max_batches:
            batches += 1
            async with sessions.begin() as session:
                rows = list(
                    await session.scalars(
                        select(model).where(_stale(model, active)).order_by(*key_columns).limit(batch)
                    )
                )
                for row in rows:  # loading opened them with their old key; the flush seals them with the active key
                    for name in names:
                        attributes.flag_modified(row, name)
            done += len(rows)
            if len(rows) < batch:
                break
            await asyncio.sleep(0)  # let the loop breathe between batches
    left = await count_stale(engine, active)
    if left == 0:
        async with engine.begin() as connection:
            await connection.run_sync(data_keys.reseal_meta, cipher.keyring, cipher, frozenset({active}))
    return RekeyReport(rows=done, left=left, active_id=active)
