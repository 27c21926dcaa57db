"""personal data sealed at rest: email (with its blind index), slots, message texts, feedback answers

Revision ID: 0004_sealed_personal_data
Revises: 0003_message_steps

Existing plaintext rows are sealed in this migration, with the data keys `python -m server migrate`
(and every start) hands in; on a database with personal rows and no keys it stops before changing a
thing. Downgrade opens them again (same keys needed).
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.engine import Connection

from server.storage import data_keys
from server.storage.keyring import Keyring
from server.storage.models import UtcDateTime
from server.storage.sealing import Cipher

revision: str = "0004_sealed_personal_data"
down_revision: str | None = "0003_message_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

# The sealed fields as of this revision (frozen here, whatever models.py says later):
# table -> (primary key, identity columns, text fields, JSON fields)
SEALED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "users": ("id", ("id",), ("email",), ()),
    "conversations": ("id", ("id",), (), ("context",)),
    "messages": ("id", ("conversation_id", "seq"), ("text",), ("steps",)),
    "feedback": ("id", ("conversation_id", "created_at"), ("helped", "perspective", "exercise_fit", "contact"), ()),
}


def _table(name: str) -> sa.TableClause:
    pk, identity, text, json_fields = SEALED[name]
    columns = {pk, *identity, *text, *json_fields}
    extra = ["email_index"] if name == "users" else []
    return sa.table(
        name,
        *(sa.column(c, UtcDateTime() if c == "created_at" else sa.Text()) for c in sorted(columns)),
        *(sa.column(c, sa.String()) for c in extra),
    )


def _keyring(connection: Connection) -> Keyring | None:
    keyring: Keyring | None = context.config.attributes.get("keyring")
    if keyring is not None:
        return keyring
    for name in SEALED:
        if connection.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first() is not None:
            raise RuntimeError(
                "migration 0004 seals existing personal data and needs the data keys: run `python -m server migrate` "
                "(it reads DATA_KEYS / DATA_KEYS_FILE, or var/data-keys in development)"
            )
    return None


def _rows(connection: Connection, name: str) -> Iterator[list[sa.Row[Any]]]:
    pk = SEALED[name][0]
    table = _table(name)
    last: Any = None
    while True:
        query = sa.select(table).order_by(table.c[pk]).limit(BATCH)
        if last is not None:
            query = query.where(table.c[pk] > last)
        rows = list(connection.execute(query).all())
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], pk)


def _identity(row: sa.Row[Any], columns: tuple[str, ...]) -> tuple[object, ...]:
    return tuple(getattr(row, c).isoformat() if c == "created_at" else getattr(row, c) for c in columns)


def _sealed(cipher: Cipher, place: tuple[str, str, tuple[object, ...]], value: Any, as_json: bool) -> str | None:
    if as_json and value is not None:
        value = json.loads(value)  # JSON text (SQLite) or the json column cast to text (PostgreSQL)
    if value is None:
        return None
    return str(cipher.seal(*place, value, as_json=as_json))


def _opened(cipher: Cipher, place: tuple[str, str, tuple[object, ...]], value: Any, as_json: bool) -> str | None:
    if value is None:
        return None
    plain = cipher.open(*place, value, as_json=as_json)
    return json.dumps(plain, ensure_ascii=False) if as_json else str(plain)


def _convert(connection: Connection, cipher: Cipher, *, seal: bool) -> None:
    """Seal (or open) every sealed field of every row, in primary-key order and batches."""
    change = _sealed if seal else _opened
    for name, (pk, identity_columns, text, json_fields) in SEALED.items():
        table = _table(name)
        for rows in _rows(connection, name):
            for row in rows:
                identity = _identity(row, identity_columns)
                values = {
                    c: change(cipher, (name, c, identity), getattr(row, c), c in json_fields)
                    for c in (*text, *json_fields)
                }
                if name == "users" and seal:
                    values["email_index"] = cipher.blind(row.email)
                connection.execute(table.update().where(table.c[pk] == getattr(row, pk)).values(**values))


def upgrade() -> None:
    connection = op.get_bind()
    keyring = _keyring(connection)  # first: without keys, stop before any change (SQLite DDL is not transactional)
    op.create_table(
        "crypto_meta",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_crypto_meta")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_users_email", type_="unique")
        batch_op.alter_column("email", existing_type=sa.String(length=254), type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column(
            "context", existing_type=sa.JSON(), type_=sa.Text(), nullable=True, postgresql_using="context::text"
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("steps", existing_type=sa.JSON(), type_=sa.Text(), postgresql_using="steps::text")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("contact", existing_type=sa.String(length=254), type_=sa.Text())

    if keyring is not None:
        _convert(connection, data_keys.prepare(connection, keyring), seal=True)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("email_index", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_email_index"), ["email_index"])


def downgrade() -> None:
    connection = op.get_bind()
    keyring = _keyring(connection)
    if keyring is not None:
        _convert(connection, data_keys.prepare(connection, keyring), seal=False)
    connection.execute(sa.text("UPDATE conversations SET context = '{}' WHERE context IS NULL"))
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("contact", existing_type=sa.Text(), type_=sa.String(length=254))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("steps", existing_type=sa.Text(), type_=sa.JSON(), postgresql_using="steps::json")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column(
            "context", existing_type=sa.Text(), type_=sa.JSON(), nullable=False, postgresql_using="context::json"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_email_index"), type_="unique")
        batch_op.drop_column("email_index")
        batch_op.alter_column("email", existing_type=sa.Text(), type_=sa.String(length=254), existing_nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_email"), ["email"])
    op.drop_table("crypto_meta")
