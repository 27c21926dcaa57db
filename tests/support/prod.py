"""The environment of a production server process: APP_ENV=prod, a fresh strong key, an https origin.

Keys are made per test run and never written down: a key that appears in the repository is published,
and production refuses it (server/secret_strength.py).
"""

from __future__ import annotations

import base64
import secrets

PROD_SECRET = secrets.token_urlsafe(48)
PROD_DATA_KEYS = f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}"
PROD_ORIGIN = "https://chat.wuffchat.example"


def prod_env(**env: str) -> dict[str, str]:
    """APP_ENV=prod, SECRET_KEY, DATA_KEYS and CORS_ORIGINS, then `env` on top."""
    return {
        "APP_ENV": "prod",
        "SECRET_KEY": PROD_SECRET,
        "DATA_KEYS": PROD_DATA_KEYS,
        "CORS_ORIGINS": PROD_ORIGIN,
        **env,
    }
