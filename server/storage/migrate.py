"""Run Alembic migrations programmatically (at start, `make migrate`, and in tests).

Alembic's env.py drives an async engine with `asyncio.run`, so from async code call these through
`asyncio.to_thread`: the migration then runs on its own loop in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from server.storage.keyring import Keyring

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str, keyring: Keyring | None = None) -> Config:
    """`keyring`: the data keys, for migrations that seal or open existing rows (0004); without it
    such a migration stops on a database that holds personal rows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    config.attributes["keyring"] = keyring
    return config


def upgrade(database_url: str, revision: str = "head", *, keyring: Keyring | None = None) -> None:
    command.upgrade(alembic_config(database_url, keyring), revision)


def downgrade(database_url: str, revision: str = "base", *, keyring: Keyring | None = None) -> None:
    command.downgrade(alembic_config(database_url, keyring), revision)
