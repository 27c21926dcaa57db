"""What every command needs: the parsed options, output in text or JSON, prompts, and a connected client."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from wuffchat_client.cli import failures, texts
from wuffchat_client.cli.token_store import TokenStore
from wuffchat_client.models import TokenPair
from wuffchat_client.sync import Client


class StdinLike(Protocol):
    def readline(self) -> str: ...


class UsageError(Exception):
    """Wrong or missing input on the command line (exit code 2)."""


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(value: Any) -> str:
    """One line of JSON; dataclasses become objects, enums their names, times ISO 8601."""
    return json.dumps(value, default=_plain, ensure_ascii=False)


class Context:
    """Options and helpers for one command run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.language: str = args.lang
        self.json: bool = args.json
        self.store = TokenStore(args.target)
        self.interactive = sys.stdin.isatty()
        self.stdin: StdinLike = sys.stdin

    def call(self) -> failures.Call:
        a = self.args
        return failures.Call(self.language, a.target, a.tls, a.ca_file, a.timeout, getattr(a, "command", ""))

    def t(self, key: str, **params: object) -> str:
        return texts.text(self.language, key, **params)

    def say(self, line: str = "") -> None:
        """A human line on stdout (nothing in --json mode)."""
        if not self.json:
            print(line, flush=True)

    def emit(self, value: Any) -> None:
        """A JSON line on stdout (only in --json mode)."""
        if self.json:
            print(to_json(value), flush=True)

    def read_line(self, prompt: str = "") -> str | None:
        """One line from stdin without its newline; None at end of input."""
        if prompt and self.interactive and not self.json:
            print(prompt, end="", flush=True)
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\r\n")

    def email(self) -> str:
        email: str | None = self.args.email or self.read_line(self.t("email"))
        if not email:
            raise UsageError(self.t("email").strip(" :"))
        return email.strip()

    def password(self, *, confirm: bool = False) -> str:
        """Read a password: one stdin line with --password-stdin, else a prompt that does not echo."""
        if getattr(self.args, "password_stdin", False):
            line = sys.stdin.readline()
            return line.rstrip("\r\n")
        if not self.interactive:
            raise UsageError(self.t("no_terminal"))
        password = getpass.getpass(self.t("password"))
        if confirm and getpass.getpass(self.t("password_again")) != password:
            raise UsageError(self.t("password_mismatch"))
        return password

    def client(self, *, user: bool = True) -> Client:
        """A client for --target: with --api-key if given, else the stored user session (if any).

        `user=False` connects without credentials (register, login, health).
        """
        tokens: TokenPair | None = None
        api_key: str | None = None
        if user:
            api_key = self.args.api_key
            stored = self.store.load() if api_key is None else None
            tokens = stored[0] if stored else None
        return Client(
            self.args.target,
            api_key=api_key,
            tokens=tokens,
            on_tokens=self.store.save if tokens is not None else None,
            language=self.language,
            tls=self.args.tls,
            ca_file=self.args.ca_file,
            cert_file=self.args.cert_file,
            key_file=self.args.key_file,
            timeout=self.args.timeout,
        )
