"""Browser fixtures: Debian's headless Chromium driven by Playwright (no browser download), in front of
the edge fixtures (the real server and Envoy serving the built web client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from scripts import system_packages
from scripts.render_envoy import WEB_DIST
from tests.support.edge import edge_server, envoy, own_envoy, web

__all__ = ["browser", "edge_server", "envoy", "own_envoy", "web"]

CHROMIUM = Path("/usr/bin/chromium")
WEB_BUILT = (WEB_DIST / "index.html").is_file()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _have_chromium(config: pytest.Config) -> bool:
    """Install Debian's chromium when it is missing and we are root (`make test` has usually done so),
    saying so on the terminal past pytest's capture."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\ntests/web: {message}", flush=True)

    return not system_packages.ensure([system_packages.BY_NAME["chromium"]], say)


@pytest.fixture(scope="session")
async def browser(pytestconfig: pytest.Config) -> AsyncIterator[Browser]:
    if not _have_chromium(pytestconfig):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    if not WEB_BUILT:
        pytest.skip("web client not built (make web)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()
