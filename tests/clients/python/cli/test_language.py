"""One language per run (`--lang`, else WUFFCHAT_LANG, else the locale): the CLI's sentences, `--help`,
argparse's errors and the reasons of rejected fields; connection failures say what is wrong and what to
do, never gRPC's internals; `history` has a header and readable states; a failed login gives no advice to
log in."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from wuffchat_client.cli import language

from tests.clients.python.cli.conftest import WUFFCHAT, Cli
from tests.support.auth import PASSWORD, SERVICE_KEY
from tests.support.net import free_port
from tests.support.tls import certificate, tls_health_server

GRPC_INTERNALS = ("failed to connect", "UNKNOWN", "ipv4:", "Deadline Exceeded", "SSL", "ssl", "StatusCode")


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, "de"),
        ([], {"LANG": "en_US.UTF-8"}, "en"),
        ([], {"LANG": "de_AT.UTF-8"}, "de"),
        ([], {"LANG": "fr_FR.UTF-8"}, "en"),
        ([], {"LANG": "C.UTF-8"}, "de"),
        ([], {"LC_ALL": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, "de"),
        ([], {"WUFFCHAT_LANG": "en", "LANG": "de_DE.UTF-8"}, "en"),
        (["--lang", "de", "health"], {"LANG": "en_US.UTF-8"}, "de"),
        (["health", "--lang=en"], {}, "en"),
    ],
)
def test_language_from_option_environment_and_locale(argv: list[str], env: dict[str, str], expected: str) -> None:
    assert language.choose(argv, env) == expected


def _wuffchat(*args: str, lang: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": lang, "HOME": "/nonexistent"}
    return subprocess.run([str(WUFFCHAT), *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_help_in_the_locale_language() -> None:
    german = _wuffchat("--help", lang="de_DE.UTF-8")
    assert german.returncode == 0
    assert german.stdout.startswith("Aufruf: wuffchat") and "Optionen:" in german.stdout
    assert "mit dem Hund sprechen" in german.stdout and "diese Hilfe zeigen" in german.stdout
    assert "show this help" not in german.stdout and "talk with the dog" not in german.stdout
    english = _wuffchat("chat", "--help", lang="en_US.UTF-8")
    assert english.stdout.startswith("usage: wuffchat chat") and "continue a conversation" in english.stdout
    assert "Gespräch" not in english.stdout


def test_usage_errors_in_the_locale_language() -> None:
    german = _wuffchat("--lang", "fr", "health", lang="de_DE.UTF-8")
    assert german.returncode == 2
    assert "wuffchat: Fehler: Argument --lang: ungültige Wahl: 'fr'" in german.stderr


async def test_invalid_field_reason_in_the_run_language(cli: Cli) -> None:
    email = f"short-{uuid.uuid4().hex[:8]}@example.org"
    german = await cli.run("--lang", "de", "register", email, "--password-stdin", stdin="kurz\n")
    assert german.code == 4
    assert german.stderr == "wuffchat: Die Anfrage ist ungültig. (Passwort: mindestens 8 Zeichen)\n"
    english = await cli.run("--lang", "en", "register", email, "--password-stdin", stdin="kurz\n")
    assert english.stderr == "wuffchat: The request is invalid. (password: at least 8 characters)\n"


async def test_server_unreachable_says_what_to_do(cli: Cli) -> None:
    target = f"127.0.0.1:{free_port()}"
    result = await cli.run("--target", target, "--timeout", "2", "health")
    assert result.code == 6
    assert result.stderr == (
        f"wuffchat: Der Server unter {target} ist nicht erreichbar. Läuft er? Starte ihn mit `make run` "
        "oder wähle einen anderen mit --target (oder WUFFCHAT_TARGET).\n"
    )


async def test_tls_to_a_plaintext_server_says_what_to_do(cli: Cli) -> None:
    result = await cli.run("--lang", "en", "--tls", "--timeout", "3", "health")
    assert result.code == 6
    assert result.stderr.startswith(f"wuffchat: The TLS connection to {cli.target} failed"), result.stderr
    assert "without --tls" in result.stderr
    assert not any(word in result.stderr for word in GRPC_INTERNALS)


async def test_untrusted_certificate_and_plaintext_to_tls_say_what_to_do(cli: Cli, tmp_path: Path) -> None:
    cert_path = certificate(tmp_path)
    async with tls_health_server(tmp_path) as port:
        untrusted = await cli.run("--lang", "en", "--target", f"https://127.0.0.1:{port}", "--timeout", "3", "health")
        assert untrusted.code == 6
        assert "TLS connection" in untrusted.stderr and "--ca-file" in untrusted.stderr, untrusted.stderr
        trusted = await cli.run("--target", f"https://127.0.0.1:{port}", "--ca-file", str(cert_path), "health")
        assert trusted.code == 0, trusted.stderr
        plaintext = await cli.run("--lang", "en", "--target", f"127.0.0.1:{port}", "--timeout", "3", "health")
        assert plaintext.code == 6
        assert "does it speak TLS?" in plaintext.stderr, plaintext.stderr
        for result in (untrusted, plaintext):
            assert not any(word in result.stderr for word in GRPC_INTERNALS), result.stderr


async def test_history_has_a_header_and_readable_states(cli: Cli) -> None:
    email = f"history-{uuid.uuid4().hex[:8]}@example.org"
    assert (await cli.run("register", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    assert (await cli.run("login", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    assert (await cli.run("chat", stdin="Mein Hund zieht ständig an der Leine.\n")).code == 0
    german = await cli.run("history")
    assert german.code == 0, german.stderr
    header, row = german.stdout.splitlines()
    assert header.split() == ["ID", "zuletzt", "Stand", "Thema"]
    assert "wartet auf ja/nein" in row and "WAIT_FOR" not in row
    english = await cli.run("--lang", "en", "history")
    assert english.stdout.splitlines()[0].split() == ["ID", "updated", "state", "topic"]
    assert "waiting for yes/no" in english.stdout


async def test_failed_login_gives_no_advice_to_log_in(cli: Cli) -> None:
    email = f"wrong-{uuid.uuid4().hex[:8]}@example.org"
    result = await cli.run("login", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.code == 3
    assert result.stderr == "wuffchat: E-Mail-Adresse oder Passwort ist falsch.\n"


async def test_api_key_refused_says_how_to_authenticate(cli: Cli) -> None:
    result = await cli.run("--api-key", SERVICE_KEY + "x", "whoami")
    assert result.code == 3 and "`wuffchat login`" in result.stderr
