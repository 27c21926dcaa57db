"""Command line: `python -m server [--workers N]` serves; `migrate [up|down]`; `audit verify`;
`retention run`; `rekey` (re-seal personal data with the active data key); `apikey create|list|revoke`;
`kb-load` (knowledge base into Weaviate); `backup FILE` and `restore FILE` (the database); `config
env-table [--write]` (the environment variables as a Markdown table, or written into README.md; needs no
valid configuration).

Exit codes: 0 clean stop, 1 cannot start (database unreachable, port in use), a worker died, audit
chain broken, rekey could not finish, kb-load failed (Weaviate unreachable), or a backup or restore
failed, 2 bad configuration (kb-load without WEAVIATE_URL too).
Errors are one line on stderr; a traceback only in development and only for unexpected errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop

from server import audit, workers
from server.app import StartupError, serve
from server.auth import cli as apikey_cli
from server.clock import system_clock
from server.config import ConfigError, Settings, env_table, load_settings
from server.knowledge import kb_load
from server.log import configure_logging
from server.retention import Retention, RetentionPolicy
from server.storage import backup, data_keys, db, migrate, rekey
from server.storage.keyring import KeyringError, UnreadableValueError

EXIT_STARTUP = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="WuffChat gRPC server")
    parser.add_argument(
        "--workers", type=int, metavar="N", help="server processes on one port (overrides WORKERS; >1 needs REDIS_URL)"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the server (default)")
    migrate_cmd = commands.add_parser("migrate", help="apply or revert database migrations")
    migrate_cmd.add_argument("direction", nargs="?", choices=("up", "down"), default="up")
    migrate_cmd.add_argument("--revision", default=None, help="target revision (default: head / base)")
    audit_cmd = commands.add_parser("audit", help="audit log tools")
    audit_cmd.add_argument("action", choices=("verify",), help="verify: check the hash chain of audit_events")
    retention_cmd = commands.add_parser("retention", help="data retention")
    retention_cmd.add_argument("action", choices=("run",), help="run: delete what is past its retention now")
    rekey_cmd = commands.add_parser("rekey", help="re-seal data sealed with older DATA_KEYS keys with the active one")
    rekey_cmd.add_argument("--batch", type=int, default=rekey.DEFAULT_BATCH, help="rows per transaction")
    commands.add_parser("kb-load", help="create the Weaviate collection and load the knowledge base (WEAVIATE_URL)")
    backup_cmd = commands.add_parser("backup", help="copy the database to FILE (SQLite online backup, pg_dump)")
    backup_cmd.add_argument("file", type=Path)
    backup_cmd.add_argument("--force", action="store_true", help="replace FILE if it exists")
    restore_cmd = commands.add_parser("restore", help="replace the database by the backup FILE (servers stopped)")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--force", action="store_true", help="replace a database that already holds tables")
    config_cmd = commands.add_parser("config", help="the configuration model: every environment variable")
    config_cmd.add_argument("action", choices=("env-table",), help="env-table: the variables as a Markdown table")
    config_cmd.add_argument("--write", action="store_true", help="replace the table in README.md instead of printing")
    config_cmd.add_argument("--readme", type=Path, default=Path("README.md"), help="the README to write (--write)")
    apikey_cli.add_parser(commands)
    return parser


def _env_table(args: argparse.Namespace) -> int:
    if not args.write:
        print(env_table.markdown(), end="")
        return 0
    try:
        readme = args.readme.read_text(encoding="utf-8")
        args.readme.write_text(env_table.render_into(readme), encoding="utf-8")
    except (OSError, ValueError) as exc:
        return _fail(EXIT_STARTUP, f"cannot write the table: {exc}")
    print(f"wrote the environment table into {args.readme}", file=sys.stderr)
    return 0


def _fail(code: int, message: str) -> int:
    print(f"wuffchat: {message}", file=sys.stderr)
    return code


async def _verify_audit(settings: Settings) -> int:
    engine = db.create_engine(settings.database.url)
    try:
        report = await audit.verify(engine)
    finally:
        await engine.dispose()
    if report.intact:
        start = " (it starts after rows removed by retention)" if report.pruned else ""
        print(f"audit chain intact: {report.rows} rows{start}")
        return 0
    print(f"audit chain broken at row id {report.first_broken_id} ({report.rows} rows before it are intact)")
    return 1


async def _run_retention(settings: Settings) -> int:
    engine = db.create_engine(settings.database.url)
    try:
        job = Retention(
            engine,
            RetentionPolicy.from_settings(settings.retention, settings.auth.login),
            audit.AuditLog(engine),
            clock=system_clock,
        )
        report = await job.run_once()
    finally:
        await engine.dispose()
    print("retention: " + " ".join(f"{name}={count}" for name, count in report.counts().items()))
    return 0


async def _rekey(settings: Settings, batch: int) -> int:
    engine = db.create_engine(settings.database.url)
    try:
        keyring = data_keys.keyring_for(settings.data_keys.keys, dev_file=Path(settings.data_keys.dev_file))
        await asyncio.to_thread(migrate.upgrade, settings.database.url, keyring=keyring)
        report = await rekey.run(engine, await data_keys.unlock(engine, keyring), batch=max(1, batch))
    except (data_keys.DataKeyMismatchError, KeyringError) as exc:
        return _fail(EXIT_STARTUP, f"cannot rekey: {exc}")
    except UnreadableValueError as exc:
        return _fail(EXIT_STARTUP, f"rekey stopped: {exc}")
    finally:
        await engine.dispose()
    if not report.done:
        return _fail(
            EXIT_STARTUP,
            f"rekey: {report.rows} rows re-sealed, {report.left} still sealed with older keys "
            "(is a server still running with an older DATA_KEYS?); run it again",
        )
    print(f"rekey: {report.rows} rows re-sealed with data key {report.active_id}; older keys may now leave DATA_KEYS")
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = backup.backup(settings.database.url, args.file, overwrite=args.force)
    except backup.BackupError as exc:
        return _fail(EXIT_STARTUP, f"backup failed: {exc}")
    print(f"backup: {report.path} ({report.size} bytes; personal fields stay sealed: keep DATA_KEYS apart)")
    return 0


async def _check_restored(settings: Settings) -> int:
    """After a restore: the audit chain is intact and the configured data keys open the restored data."""
    engine = db.create_engine(settings.database.url)
    try:
        keyring = data_keys.keyring_for(settings.data_keys.keys, dev_file=Path(settings.data_keys.dev_file))
        await data_keys.unlock(engine, keyring)
    except (data_keys.DataKeyMismatchError, KeyringError) as exc:
        return _fail(EXIT_STARTUP, f"restored, but the data keys do not open it: {exc}")
    finally:
        await engine.dispose()
    return await _verify_audit(settings)


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        backup.restore(settings.database.url, args.file, force=args.force)
    except backup.BackupError as exc:
        return _fail(EXIT_STARTUP, f"restore failed: {exc}")
    print(f"restore: the database now holds {args.file}")
    return asyncio.run(_check_restored(settings))


def _load_knowledge(settings: Settings) -> int:
    if settings.knowledge.weaviate_url is None:
        return _fail(EXIT_CONFIG, "configuration error: kb-load needs WEAVIATE_URL")
    try:
        return asyncio.run(kb_load.run(settings.knowledge))
    except kb_load.KbLoadError as exc:
        return _fail(EXIT_STARTUP, f"kb-load failed: {exc}")


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    try:  # the data keys seal (or open) existing personal rows (migration 0004)
        keyring = data_keys.keyring_for(settings.data_keys.keys, dev_file=Path(settings.data_keys.dev_file))
        if args.direction == "up":
            migrate.upgrade(settings.database.url, args.revision or "head", keyring=keyring)
        else:
            migrate.downgrade(settings.database.url, args.revision or "base", keyring=keyring)
    except (data_keys.DataKeyMismatchError, KeyringError) as exc:
        return _fail(EXIT_STARTUP, f"cannot migrate: {exc}")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "kb-load":
        return _load_knowledge(settings)
    one_shot: dict[str, Callable[[Settings], Coroutine[Any, Any, int]]] = {
        "audit": _verify_audit,
        "retention": _run_retention,
        "rekey": lambda s: _rekey(s, args.batch),
    }
    if args.command in one_shot:
        return asyncio.run(one_shot[args.command](settings))
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "migrate": _migrate,
        "apikey": apikey_cli.run,
        "backup": _backup,
        "restore": _restore,
    }
    if args.command in commands:
        return commands[args.command](args, settings)
    if settings.server.workers > 1:
        return workers.run(settings)
    uvloop.run(serve(settings))  # uvloop: 15-20 % less CPU per call than asyncio's loop (README Performance)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config":  # describes the model; the environment is not read
        return _env_table(args)
    return _configured(args)


def _configured(args: argparse.Namespace) -> int:
    """Load the settings from the environment (exit 2 on a bad value), then run the command."""
    try:
        env = dict(os.environ) if args.workers is None else {**os.environ, "WORKERS": str(args.workers)}
        settings = load_settings(env)
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, f"configuration error: {exc}")
    configure_logging(settings.server.log_level)
    try:
        return _run(args, settings)
    except ConfigError as exc:  # found only once the database is reachable (prod API keys), before migrating
        return _fail(EXIT_CONFIG, f"configuration error: {exc}")
    except StartupError as exc:
        return _fail(EXIT_STARTUP, f"cannot start: {exc}")
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        if not settings.is_prod:
            traceback.print_exc()
        return _fail(EXIT_STARTUP, f"unexpected error at start: {type(exc).__name__}")


if __name__ == "__main__":
    sys.exit(main())
