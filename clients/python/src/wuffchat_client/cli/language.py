"""One language per run: `--lang`, else `WUFFCHAT_LANG`, else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`).

A German locale gives German, any other named language English; no locale at all (unset, `C`, `POSIX`)
gives German, the product's first language. The choice covers the CLI's sentences, `--help` and
argparse's own messages (`argparse` words them through gettext's `_`, replaced here for the run), and
the server's messages (the calls send it as `accept-language`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

LANGUAGES = ("de", "en")
DEFAULT = "de"

# argparse's own texts (Python 3.11 to 3.13) in German; English is argparse's own wording.
_ARGPARSE_DE = {
    "usage: ": "Aufruf: ",
    "positional arguments": "Argumente",
    "options": "Optionen",
    "show this help message and exit": "diese Hilfe zeigen und beenden",
    "show program's version number and exit": "die Version zeigen und beenden",
    "%(prog)s: error: %(message)s\n": "%(prog)s: Fehler: %(message)s\n",
    "the following arguments are required: %s": "diese Argumente fehlen: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "ungültige Wahl: %(value)r (möglich: %(choices)s)",
    "unrecognized arguments: %s": "unbekannte Argumente: %s",
    "expected one argument": "erwartet einen Wert",
    "argument %(argument_name)s: %(message)s": "Argument %(argument_name)s: %(message)s",
    "invalid %(type)s value: %(value)r": "ungültiger Wert (%(type)s): %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "mehrdeutige Option: %(option)s passt zu %(matches)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "unbekannter Befehl %(parser_name)r (möglich: %(choices)s)"
    ),
}


def _from_locale(value: str) -> str | None:
    tag = value.split(".", 1)[0].split("@", 1)[0].strip()
    if not tag or tag in ("C", "POSIX"):
        return None
    return "de" if tag.lower().startswith("de") else "en"


def choose(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The run's language (see the module docstring); an invalid `--lang` is left to argparse to refuse."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        value = arg.removeprefix("--lang=") if arg.startswith("--lang=") else None
        if arg == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        if value in LANGUAGES:
            return value
    if env.get("WUFFCHAT_LANG") in LANGUAGES:
        return env["WUFFCHAT_LANG"]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):  # the first one set decides, as in POSIX
            return _from_locale(env[name]) or DEFAULT
    return DEFAULT


def use_for_argparse(language: str) -> None:
    """Let argparse word its usage, headings and errors in `language`."""
    table = _ARGPARSE_DE if language == "de" else {}
    argparse._ = lambda message: table.get(message, message)  # type: ignore[attr-defined]
