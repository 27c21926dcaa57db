"""Check the data keys against the database before anything is sealed or opened, and attach them.

`crypto_meta` holds one sealed canary per key id that may still have sealed data (`canary.<id>`) and
the blind-index key, sealed too (`index_key`): it is random, made once, and outlives key rotations, so
blind indexes never need recomputing. Start-up refuses, rather than writing data no key can read later:
- a canary whose key id is missing from DATA_KEYS (data sealed with a key that was removed too early),
- a canary that does not open (a key id bound to different key bytes: the wrong key).
A key becoming active gets its canary before it seals anything; `python -m server rekey` removes the
canaries of keys that no longer seal any row (server/storage/rekey.py), after which they can go.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage import sealing
from server.storage.keyring import DataKey, Keyring, SealedToken, UnreadableValueError, aad, dev_keys
from server.storage.models import CryptoMeta

INDEX_KEY = "index_key"
CANARY_PREFIX = "canary."
CANARY_TEXT = b"wuffchat data key canary"
INDEX_KEY_BYTES = 32


class DataKeyMismatchError(RuntimeError):
    """The configured data keys do not fit the database; one line, naming DATA_KEYS, never a key."""


def keyring_for(configured: tuple[DataKey, ...], *, dev_file: Path) -> Keyring:
    """The configured keys, or (development, none configured) the ones kept in `dev_file`."""
    return Keyring(configured or dev_keys(dev_file))


def _aad(name: str) -> bytes:
    return aad(CryptoMeta.__tablename__, "value", (name,))


def canary_name(key_id: int) -> str:
    return f"{CANARY_PREFIX}{key_id}"


def _check(keyring: Keyring, rows: dict[str, str]) -> None:
    for name, token in sorted(rows.items()):
        if not name.startswith(CANARY_PREFIX):
            continue
        kid = int(name.removeprefix(CANARY_PREFIX))
        if kid not in keyring.ids:
            raise DataKeyMismatchError(
                f"the database holds data sealed with data key {kid}, which DATA_KEYS lacks "
                "(keep a key until `python -m server rekey` has re-sealed its rows)"
            )
        try:
            keyring.open(token, _aad(name), where=name)
        except UnreadableValueError:
            raise DataKeyMismatchError(
                f"DATA_KEYS key {kid} is not the key this database's data was sealed with (wrong key)"
            ) from None


def prepare(connection: Connection, keyring: Keyring) -> sealing.Cipher:
    """Check `keyring` against the database on `connection` (in its transaction), add the active key's
    canary and the blind-index key when missing, and return the cipher. Migrations call this too.

    Raises:
        DataKeyMismatchError: see the module docstring.
    """
    rows = {name: value for name, value in connection.execute(select(CryptoMeta.name, CryptoMeta.value)).all()}
    _check(keyring, rows)
    active = canary_name(keyring.active_id)
    if active not in rows:
        connection.execute(insert(CryptoMeta).values(name=active, value=keyring.seal(CANARY_TEXT, _aad(active))))
    if INDEX_KEY in rows:
        try:
            index_key = keyring.open(rows[INDEX_KEY], _aad(INDEX_KEY), where=INDEX_KEY)
        except UnreadableValueError:
            raise DataKeyMismatchError(
                "DATA_KEYS cannot open the blind-index key (a key is missing or wrong)"
            ) from None
    else:
        index_key = secrets.token_bytes(INDEX_KEY_BYTES)
        connection.execute(insert(CryptoMeta).values(name=INDEX_KEY, value=keyring.seal(index_key, _aad(INDEX_KEY))))
    return sealing.Cipher(keyring, index_key)


def reseal_meta(connection: Connection, keyring: Keyring, cipher: sealing.Cipher, keep: frozenset[int]) -> None:
    """After a rekey: the blind-index key sealed with the active key, and only the canaries of `keep`."""
    index_token: SealedToken = keyring.seal(cipher.index_key, _aad(INDEX_KEY))
    connection.execute(update(CryptoMeta).where(CryptoMeta.name == INDEX_KEY).values(value=index_token))
    for name in connection.scalars(select(CryptoMeta.name).where(CryptoMeta.name.startswith(CANARY_PREFIX))).all():
        if int(name.removeprefix(CANARY_PREFIX)) not in keep:
            connection.execute(delete(CryptoMeta).where(CryptoMeta.name == name))


async def unlock(engine: AsyncEngine, keyring: Keyring) -> sealing.Cipher:
    """`prepare` in a transaction of its own, then attach the cipher to `engine`.

    Raises:
        DataKeyMismatchError: see the module docstring.
    """
    try:
        cipher = await _prepare(engine, keyring)
    except IntegrityError:  # another process inserted the same row at the same moment: read it now
        cipher = await _prepare(engine, keyring)
    sealing.attach(engine, cipher)
    return cipher


async def _prepare(engine: AsyncEngine, keyring: Keyring) -> sealing.Cipher:
    async with engine.begin() as connection:
        return await connection.run_sync(prepare, keyring)
