"""The built web client is served by Envoy on the API's origin, with the same security headers."""

from __future__ import annotations

import re

import httpx
import pytest

from scripts.render_envoy import WEB_DIST
from tests.envoy.test_security_headers import assert_hardened

pytestmark = pytest.mark.skipif(not (WEB_DIST / "index.html").is_file(), reason="web client not built: make web")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/captcha-worker.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
    ],
)
async def test_static_file_served(web: httpx.AsyncClient, path: str, content_type: str) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (WEB_DIST / ("index.html" if path == "/" else path.lstrip("/"))).read_bytes()
    assert_hardened(response.headers)


async def test_page_has_no_inline_script_or_style(web: httpx.AsyncClient) -> None:
    html = (await web.get("/")).text
    assert "<script>" not in html.replace(" ", "")
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r"<[^>]*\son[a-z]+\s*=", html) is None  # no inline event handlers


async def test_static_post_is_not_served(web: httpx.AsyncClient) -> None:
    response = await web.post("/app.js", content=b"")
    assert response.status_code == 404
