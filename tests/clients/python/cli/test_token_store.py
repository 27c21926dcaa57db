"""The CLI's token file: 0600 in a 0700 directory, one session per target, corrupt files ignored."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from wuffchat_client import TokenPair
from wuffchat_client.cli.token_store import TokenStore, default_path

PAIR = TokenPair(
    access_token="access-1",
    refresh_token="refresh-1",
    access_expires_at=2e9,
    refresh_expires_at=3e9,
    access_lifetime=900,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_writes_0600_in_a_0700_directory(tmp_path: Path) -> None:
    store = TokenStore("127.0.0.1:1", tmp_path / "cfg" / "wuffchat" / "tokens.json")
    store.save(PAIR, "a@example.org")
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    assert store.load() == (PAIR, "a@example.org")
    assert [p.name for p in store.path.parent.iterdir()] == ["tokens.json"]  # no temporary file left


def test_sessions_per_target_and_removal(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    one, two = TokenStore("host-1:1", path), TokenStore("host-2:2", path)
    one.save(PAIR, "a@example.org")
    renewed = TokenPair("access-2", "refresh-2", 2e9, 3e9, 900)
    two.save(PAIR, "b@example.org")
    one.save(renewed)  # a refresh keeps the email
    assert one.load() == (renewed, "a@example.org")
    one.save(None)
    assert one.load() is None
    assert two.load() == (PAIR, "b@example.org")
    assert mode(path) == 0o600


@pytest.mark.parametrize("content", ["", "{", "[]", '{"sessions": {"host:1": {"tokens": {"x": 1}}}}'])
def test_corrupt_file_means_logged_out(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)
    store = TokenStore("host:1", path)
    assert store.load() is None
    store.save(PAIR)
    assert store.load() == (PAIR, "")


def test_default_path_honours_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "wuffchat" / "tokens.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".config" / "wuffchat" / "tokens.json"
