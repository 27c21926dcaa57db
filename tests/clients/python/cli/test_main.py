"""The `wuffchat` command as a subprocess: accounts, the token file, search, export, delete, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import stat
import subprocess
import uuid

from tests.clients.python.cli.conftest import WUFFCHAT, Cli, CliFactory
from tests.conftest import StartServer
from tests.support.auth import PASSWORD, SERVICE_KEY, rate_limits
from tests.support.net import free_port


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}@example.org"


async def logged_in(cli: Cli) -> str:
    email = new_email()
    assert (await cli.run("register", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    assert (await cli.run("login", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    return email


async def test_health(cli: Cli) -> None:
    result = await cli.run("health")
    assert (result.code, result.stdout) == (0, "SERVING\n")
    result = await cli.run("--json", "health")
    assert result.json_lines() == [{"service": "", "status": "SERVING"}]


async def test_register_login_whoami_and_the_token_file(cli: Cli) -> None:
    email = new_email()
    registered = await cli.run("register", email, "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert registered.code == 0, registered.stderr
    [reply] = registered.json_lines()
    assert reply["email"] == email and reply["user_id"]

    login = await cli.run("login", "--password-stdin", stdin=f"{email}\n{PASSWORD}\n")  # email read from stdin
    assert login.code == 0, login.stderr
    assert email in login.stdout
    assert stat.S_IMODE(cli.token_file.stat().st_mode) == 0o600
    stored = json.loads(cli.token_file.read_text())
    tokens = next(iter(stored["sessions"].values()))["tokens"]
    for secret in (tokens["access_token"], tokens["refresh_token"]):
        assert secret not in login.stdout + login.stderr

    whoami = await cli.run("whoami", "--json")
    assert whoami.code == 0, whoami.stderr
    assert whoami.json_lines()[0]["email"] == email


async def test_logout_removes_the_session(cli: Cli) -> None:
    await logged_in(cli)
    assert (await cli.run("logout")).code == 0
    assert json.loads(cli.token_file.read_text())["sessions"] == {}
    whoami = await cli.run("whoami")
    assert whoami.code == 3
    assert (await cli.run("logout", "--json")).json_lines() == [{"logged_in": False}]


async def test_search_with_api_key_from_the_environment(cli: Cli) -> None:
    cli.env["WUFFCHAT_API_KEY"] = SERVICE_KEY
    result = await cli.run("search", "Mein Hund zieht an der Leine", "--limit", "3", "--json")
    assert result.code == 0, result.stderr
    [matches] = result.json_lines()
    assert 1 <= len(matches) <= 3 and {"id", "title", "score"} <= set(matches[0])
    human = await cli.run("search", "Mein Hund zieht an der Leine")
    assert matches[0]["id"] in human.stdout


async def test_export_then_delete_account(cli: Cli) -> None:
    email = await logged_in(cli)
    export = await cli.run("export")
    assert export.code == 0, export.stderr
    assert email in json.dumps(json.loads(export.stdout))

    refused = await cli.run("delete-account", "--password-stdin", stdin=PASSWORD + "\n")
    assert refused.code == 2 and "--yes" in refused.stderr  # no terminal to confirm
    wrong = await cli.run("delete-account", "--yes", "--password-stdin", stdin="falsch\n")
    assert wrong.code == 4 and wrong.stderr.startswith("wuffchat: ")
    deleted = await cli.run("delete-account", "--yes", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert deleted.code == 0, deleted.stderr
    assert deleted.json_lines() == [{"deleted": True}]
    assert json.loads(cli.token_file.read_text())["sessions"] == {}
    again = await cli.run("login", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert again.code == 3


async def test_exit_codes_and_one_line_errors(cli: Cli) -> None:
    unauthenticated = await cli.run("chat", stdin="Hallo\n")
    assert unauthenticated.code == 3
    assert unauthenticated.stderr.count("\n") == 1 and unauthenticated.stderr.startswith(
        "wuffchat: Bitte melde dich an."
    )
    assert "Traceback" not in unauthenticated.stderr

    invalid = await cli.run("--lang", "en", "register", "kein-email", "--password-stdin", stdin=PASSWORD + "\n")
    assert invalid.code == 4 and "email" in invalid.stderr

    no_terminal = await cli.run("login", new_email())
    assert no_terminal.code == 2 and "--password-stdin" in no_terminal.stderr

    usage = await cli.run("--lang", "fr", "health")
    assert usage.code == 2

    as_json = await cli.run("--json", "whoami")
    assert as_json.code == 3
    assert json.loads(as_json.stderr)["error"] == "unauthenticated"

    unreachable = await cli.run("--target", f"127.0.0.1:{free_port()}", "--timeout", "2", "health")
    assert unreachable.code == 6 and unreachable.stderr.startswith("wuffchat: ")

    bad_scheme = await cli.run("--target", "ftp://x:1", "health")
    assert bad_scheme.code == 2


async def test_rate_limited_exit_code(start_server: StartServer, cli_for: CliFactory) -> None:
    server = await start_server(RATE_LIMITS=rate_limits("100000/minute", SearchBehaviors="1/minute"))
    cli: Cli = cli_for(f"127.0.0.1:{server.port}")
    assert (await cli.run("--api-key", SERVICE_KEY, "search", "Leine")).code == 0
    limited = await cli.run("--api-key", SERVICE_KEY, "--lang", "en", "search", "Leine")
    assert limited.code == 5
    [line] = limited.stderr.splitlines()
    assert line.startswith("wuffchat: Too many requests. Please wait ") and line.endswith(" seconds and try again.")
    assert line.count("wait") == 1 and "try again in" not in line  # the wait is said once


def drive_terminal(argv: list[str], env: dict[str, str], password: str) -> tuple[int, str]:
    """Run `argv` on a pseudo-terminal, type `password` at the prompt; exit code and everything shown."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    shown = b""
    typed = False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, f"no output from the command: {shown!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not typed and b"Passwort:" in shown:
                os.write(master, f"{password}\n".encode())
                typed = True
        return process.wait(30), shown.decode(errors="replace")
    finally:
        os.close(master)


async def test_login_password_prompt_does_not_echo(cli: Cli) -> None:
    email = new_email()
    assert (await cli.run("register", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    argv = [str(WUFFCHAT), "--target", cli.target, "login", email]
    code, shown = await asyncio.to_thread(drive_terminal, argv, cli.environment(), PASSWORD)
    assert code == 0, shown
    assert "Passwort:" in shown and f"Angemeldet als {email}" in shown
    assert PASSWORD not in shown
    assert stat.S_IMODE(cli.token_file.stat().st_mode) == 0o600
