"""The web client loads through Envoy in a real browser, and the CSP holds.

Headless Chromium from Debian loads the page from Envoy (same origin as the API). The app must run
(its script is external, so the strict CSP allows it) with no CSP violation in the console; script
injected inline afterwards must be blocked by the browser. The screenshot goes to var/.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page

from tests.support.envoy import EnvoyProcess

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"


class PageLog:
    """Everything the page said: console lines, uncaught errors, CSP violation events, dialogs."""

    def __init__(self, page: Page) -> None:
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def _on_dialog(self, dialog: object) -> None:
        self.dialogs.append(str(dialog))

    @property
    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line or "Refused to" in line]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    yield page
    await context.close()


async def test_page_loads_through_envoy_without_csp_violations(page: Page, envoy: EnvoyProcess) -> None:
    log = PageLog(page)
    response = await page.goto(envoy.url + "/", wait_until="networkidle")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    # The app's module ran: it hid the loading line and shows the login form.
    await page.locator("#auth-view").wait_for(state="visible", timeout=10_000)
    assert await page.locator("#loading").is_hidden()
    VAR.mkdir(exist_ok=True)
    await page.screenshot(path=str(VAR / "web-login.png"), full_page=True)
    assert log.csp_violations == []
    assert log.errors == []


async def test_inline_script_is_blocked(page: Page, envoy: EnvoyProcess) -> None:
    log = PageLog(page)
    await page.goto(envoy.url + "/", wait_until="networkidle")
    violations = await page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (e) => seen.push(e.violatedDirective));
            const inline = document.createElement("script");
            inline.textContent = "window.__inlineRan = true";
            document.body.append(inline);
            const img = document.createElement("img");
            img.setAttribute("src", "/does-not-exist.png");
            img.setAttribute("onerror", "window.__handlerRan = true");
            document.body.append(img);
            setTimeout(() => resolve(seen), 1500);
        })"""
    )
    assert await page.evaluate("window.__inlineRan === undefined && window.__handlerRan === undefined")
    assert any(v.startswith("script-src") for v in violations), violations
    assert log.dialogs == []


async def test_grpc_web_call_from_the_page(page: Page, envoy: EnvoyProcess) -> None:
    """Submitting the login form makes a real gRPC-web call (GetCaptcha) from the browser through Envoy;
    whatever the server answers, the page shows it as a friendly notice and breaks no CSP rule."""
    log = PageLog(page)
    await page.goto(envoy.url + "/", wait_until="networkidle")
    await page.fill("#email", "hund@example.org")
    await page.fill("#password", "ein-langes-passwort")
    async with page.expect_response(lambda r: r.url.endswith("/wuffchat.auth.v1.AuthService/GetCaptcha")) as info:
        await page.click("#auth-submit")
    reply = await info.value
    assert reply.status == 200
    assert (await reply.header_value("content-type") or "").startswith("application/grpc-web")
    notice = page.locator("#notice")
    await notice.wait_for(state="visible", timeout=10_000)
    text = (await notice.text_content() or "").strip()
    # The server's ErrorInfo reason (LOGIN_FAILED for this unknown account) picks the sentence, not the
    # status code alone (UNAUTHENTICATED would also fit an expired session).
    assert text == "Das hat nicht geklappt: E-Mail oder Passwort stimmen nicht.", text
    assert log.csp_violations == []
    assert log.errors == []


async def test_captcha_worker_solves_a_challenge(page: Page, envoy: EnvoyProcess) -> None:
    """The Web Worker finds the number the server hid: hex(SHA-256(salt + decimal(number))) == challenge."""
    salt, number = "f00dcafe1234?expires=1893456000&", 73_519  # the server's shape, ending in "&"
    challenge = hashlib.sha256(f"{salt}{number}".encode()).hexdigest()
    await page.goto(envoy.url + "/", wait_until="networkidle")
    found = await page.evaluate(
        """([salt, challenge]) => new Promise((resolve) => {
            const worker = new Worker("/captcha-worker.js");
            worker.onmessage = (event) => { worker.terminate(); resolve(event.data); };
            worker.postMessage({ salt, challenge, maxNumber: 100000 });
        })""",
        [salt, challenge],
    )
    assert found == {"number": number}
    unsolvable = await page.evaluate(
        """([salt]) => new Promise((resolve) => {
            const worker = new Worker("/captcha-worker.js");
            worker.onmessage = (event) => { worker.terminate(); resolve(event.data); };
            worker.postMessage({ salt, challenge: "0".repeat(64), maxNumber: 2000 });
        })""",
        [salt],
    )
    assert unsolvable == {"error": "unsolvable"}


@pytest.mark.parametrize(
    ("path", "heading"), [("/impressum.html", "Impressum"), ("/datenschutz.html", "Datenschutzerklärung")]
)
async def test_imprint_and_privacy_templates_are_served_with_the_csp(
    page: Page, envoy: EnvoyProcess, path: str, heading: str
) -> None:
    """German law expects an Impressum and a Datenschutzerklärung: both are static pages beside the app,
    linked from it, under the same strict CSP, with their placeholders clearly marked for the operator."""
    from tests.web.ui import axe_violations

    log = PageLog(page)
    await page.goto(envoy.url + "/", wait_until="networkidle")
    async with page.expect_navigation():
        await page.click(f".foot a[href='{path}']")
    response = await page.goto(envoy.url + path, wait_until="networkidle")
    assert response is not None
    assert response.status == 200
    headers = await response.all_headers()
    assert headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert await page.locator("h1").text_content() == heading
    assert await page.locator(".template-box").count() == 1
    placeholders = await page.locator(".placeholder").all_text_contents()
    assert len(placeholders) >= 4
    assert all(p.startswith("[") and p.endswith("]") for p in placeholders), placeholders
    # The stylesheet applied (no inline style needed): a placeholder is highlighted.
    assert await page.locator(".placeholder").first.evaluate("(e) => getComputedStyle(e).backgroundColor") == (
        "rgb(255, 243, 176)"
    )
    assert await axe_violations(page) == []
    VAR.mkdir(exist_ok=True)
    await page.screenshot(path=str(VAR / f"web-{path.strip('/').removesuffix('.html')}.png"), full_page=True)
    assert log.csp_violations == []
    assert log.errors == []
