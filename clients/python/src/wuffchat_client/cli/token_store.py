"""The CLI's session file: user tokens per target in `$XDG_CONFIG_HOME/wuffchat/tokens.json` (mode 0600).

The directory is created 0700 and the file is replaced atomically through a 0600 temporary file, so
the tokens are never readable by another user, not even for a moment. Without XDG_CONFIG_HOME the
file lives in `~/.config/wuffchat/`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wuffchat_client.models import TokenPair

FILE_MODE = 0o600
DIR_MODE = 0o700


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "wuffchat" / "tokens.json"


class TokenStore:
    """Load and save the token pair of one target; other targets' sessions in the file are kept."""

    def __init__(self, target: str, path: Path | None = None) -> None:
        self.target = target
        self.path = path or default_path()

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable or corrupt: treated as logged out, rewritten at the next login
        sessions = data.get("sessions") if isinstance(data, dict) else None
        return sessions if isinstance(sessions, dict) else {}

    def load(self) -> tuple[TokenPair, str] | None:
        """The stored tokens and email for this target, or None."""
        entry = self._read_all().get(self.target)
        if not isinstance(entry, dict):
            return None
        try:
            tokens = TokenPair(**entry["tokens"])
        except (KeyError, TypeError):
            return None
        return tokens, str(entry.get("email", ""))

    def save(self, tokens: TokenPair | None, email: str | None = None) -> None:
        """Store `tokens` for this target (None removes them); keeps the email of the stored session."""
        sessions = self._read_all()
        if tokens is None:
            if self.target not in sessions:
                return
            sessions.pop(self.target)
        else:
            previous = sessions.get(self.target)
            known = previous.get("email", "") if isinstance(previous, dict) else ""
            sessions[self.target] = {"email": email or known, "tokens": asdict(tokens)}
        self._write({"version": 1, "sessions": sessions})

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
