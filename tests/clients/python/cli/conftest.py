"""Run the installed `wuffchat` console script as a subprocess against the real server in this process.

The server runs on the test's event loop, so the CLI is started with asyncio's subprocess API and the
loop keeps serving while the test waits. HOME and XDG_CONFIG_HOME point into the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WUFFCHAT = Path(sys.executable).parent / "wuffchat"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class Cli:
    target: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("WUFFCHAT_")}
        return {**base, "HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / "config"), **self.env}

    @property
    def token_file(self) -> Path:
        return self.home / "config" / "wuffchat" / "tokens.json"

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        assert WUFFCHAT.exists(), "the wuffchat console script is missing: run `make setup`"
        return await asyncio.create_subprocess_exec(
            str(WUFFCHAT),
            "--target",
            self.target,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.environment(),
        )

    async def run(self, *args: str, stdin: str = "") -> Result:
        process = await self.spawn(*args)
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())


CliFactory = Callable[[str], "Cli"]


@pytest.fixture
def cli_for(tmp_path: Path) -> CliFactory:
    """cli_for(target) -> a Cli with its own HOME."""

    def make(target: str) -> Cli:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        return Cli(target, home)

    return make


@pytest.fixture
def cli(target: str, cli_for: CliFactory) -> Cli:
    return cli_for(target)
