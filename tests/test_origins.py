"""server/origins.py: the CORS_ORIGINS rules shared by the server configuration and the Envoy renderer."""

from __future__ import annotations

import pytest

from scripts.render_envoy import RenderError, options_from_env
from server.config import ConfigError, load_settings
from server.origins import OriginError, parse_origins

LOCAL = [
    "https://127.0.0.2",
    "https://127.255.255.254:8443",
    "https://[::1]",
    "https://[::ffff:127.0.0.1]",
    "https://localhost",
    "https://app.localhost:8443",
    "https://0.0.0.0",
    "https://[::]",
    "https://169.254.169.254",
    "https://[fe80::1]",
]
MALFORMED = [
    "https://chat.example/",
    "https://chat.example/app",
    "https://chat.example?x=1",
    "https://chat.example#top",
    "https://user@chat.example",
    "https://chat.example:0",
    "https://chat.example:65536",
    "https://chat.example:https",
    "ftp://chat.example",
    "https:chat.example",
    "https://",
    "https://-chat.example",
    "https://chat_example.com",
    "https://2130706433",  # a browser reads this as 127.0.0.1
    "https://0x7f.1",
    "https://[fe80::1%25eth0]",
    "https://[not-an-ip]",
    "null",
]


@pytest.mark.parametrize("origin", ["http://[::1]:8080", "http://chat.example", *LOCAL])
def test_prod_refuses_http_and_local_origins(origin: str) -> None:
    with pytest.raises(OriginError, match="CORS_ORIGINS") as err:
        parse_origins(f"https://chat.example,{origin}", prod=True)
    assert "APP_ENV=prod" in str(err.value)


@pytest.mark.parametrize("prod", [False, True])
@pytest.mark.parametrize("origin", MALFORMED)
def test_malformed_origins_are_refused(origin: str, prod: bool) -> None:
    with pytest.raises(OriginError, match="CORS_ORIGINS entries must look like"):
        parse_origins(origin, prod=prod)


@pytest.mark.parametrize("raw", ["", " , ", "  "])
def test_prod_requires_origins(raw: str) -> None:
    with pytest.raises(OriginError, match="CORS_ORIGINS must name"):
        parse_origins(raw, prod=True)
    assert parse_origins(raw, prod=False) == ()


def test_prod_accepts_public_https_origins_as_browsers_send_them() -> None:
    raw = "https://chat.example, HTTPS://App.Example:443, https://chat.example:8443, https://[2001:db8::1], https://10.0.0.5"
    assert parse_origins(raw, prod=True) == (
        "https://chat.example",
        "https://app.example",
        "https://chat.example:8443",
        "https://[2001:db8::1]",
        "https://10.0.0.5",
    )


def test_dev_keeps_local_and_http_origins() -> None:
    raw = "http://localhost:5173, http://127.0.0.1:8080, http://[::1]:3000, https://chat.example"
    assert parse_origins(raw, prod=False) == (
        "http://localhost:5173",
        "http://127.0.0.1:8080",
        "http://[::1]:3000",
        "https://chat.example",
    )


@pytest.mark.parametrize("origin", ["http://[::1]:8080", "https://127.0.0.2", "https://a.localhost", "https://x/y"])
def test_server_and_renderer_refuse_alike(origin: str) -> None:
    with pytest.raises(ConfigError) as server_err:
        load_settings({"APP_ENV": "prod", "CORS_ORIGINS": origin})
    with pytest.raises(RenderError) as render_err:
        options_from_env("prod", {"CORS_ORIGINS": origin}, static_dir=None)
    assert str(server_err.value) == str(render_err.value)
