"""`python -m server apikey create|list|revoke`: manage the API keys of the `api_keys` table."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from server.audit import AuditLog
from server.auth.api_keys import ApiKeyNameTakenError, ApiKeyStore
from server.config import API_KEY_NAME, API_KEY_ROLES, Settings
from server.log import configure_logging
from server.storage import data_keys, db, migrate

CLI_PRINCIPAL = "cli:operator"  # who ran `python -m server apikey` on the host (audit events)


def _name(raw: str) -> str:
    if not API_KEY_NAME.match(raw):
        raise argparse.ArgumentTypeError("names are 1 to 60 characters of A-Z a-z 0-9 . _ -")
    return raw


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    apikey = commands.add_parser("apikey", help="manage API keys for internal services")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("name", type=_name, help="up to 60 characters of A-Z a-z 0-9 . _ -")
    create.add_argument("--role", choices=API_KEY_ROLES, default="service")
    actions.add_parser("list", help="list keys (name, prefix, role, state), never the keys")
    revoke = actions.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    engine = db.create_engine(settings.database.url)
    try:
        store = ApiKeyStore(engine)
        if args.action == "create":
            try:
                key = await store.create(args.name, args.role)
            except ApiKeyNameTakenError:
                print(f"wuffchat: an API key named {args.name!r} exists already", file=sys.stderr)
                return 1
            await AuditLog(engine).record(
                "apikey_created", principal=CLI_PRINCIPAL, details={"name": args.name, "role": args.role}
            )
            print(key)  # the only time the key is shown
            print(f"created API key {args.name!r} (role {args.role}); store it now, it cannot be shown again",
                  file=sys.stderr)  # fmt: skip
            return 0
        if args.action == "list":
            for info in await store.list():
                state = "revoked" if info.revoked_at else "active"
                used = info.last_used_at.isoformat() if info.last_used_at else "never"
                print(f"{info.name}\t{info.prefix}...\t{info.role}\t{state}\tlast used {used}")
            return 0
        if await store.revoke(args.name):
            await AuditLog(engine).record("apikey_revoked", principal=CLI_PRINCIPAL, details={"name": args.name})
            print(f"revoked API key {args.name!r}", file=sys.stderr)
            return 0
        print(f"wuffchat: no active API key named {args.name!r}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database, then perform the `apikey` action; exit code 0 or 1.

    stdout carries only the command's answer (the new key, the list), so scripts can capture it.
    """
    configure_logging(settings.server.log_level, stream=sys.stderr)  # audit event lines must not mix with the key
    logging.getLogger("alembic").setLevel(logging.WARNING)
    keyring = data_keys.keyring_for(settings.data_keys.keys, dev_file=Path(settings.data_keys.dev_file))
    migrate.upgrade(settings.database.url, keyring=keyring)  # 0004 seals existing personal rows
    return asyncio.run(_run(args, settings))
