"""The whole browser flow against the real server through Envoy: register, log in, one conversation to
the thank-you with streamed text, the exercise's steps as a numbered list, hostile text shown as text,
and the friendly rate-limit message.
The edge server runs with the rate limits of SPEC.md section 4 (Login 5/minute per client IP).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from wuffchat_client import AsyncClient, Message

from server.app import RunningServer
from tests.support.envoy import EnvoyProcess
from tests.web import ui
from tests.web.test_page import PageLog

VAR = Path(__file__).resolve().parents[2] / "var"
PASSWORD = "ein-sehr-langes-Passwort-für-Wuff"
XSS = "<img src=x onerror=alert(1)>"
TRACK_DELTAS = """() => {
    window.__maxDeltas = 0;
    new MutationObserver(() => {
        for (const node of document.querySelectorAll("[data-deltas]")) {
            window.__maxDeltas = Math.max(window.__maxDeltas, Number(node.dataset.deltas));
        }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-deltas"] });
}"""


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    yield page
    await context.close()


async def _login(page: Page, url: str, email: str, password: str, *, register: bool) -> None:
    await page.goto(url + "/", wait_until="networkidle")
    await ui.submit_auth(page, email, password, register=register)


async def _exercise(server: RunningServer, email: str) -> Message:
    """The exercise message of the user's one conversation, as the server stored it (own login, direct)."""
    async with AsyncClient(f"127.0.0.1:{server.port}") as client:
        await client.login(email, PASSWORD)
        [summary] = (await client.list_conversations()).conversations
        [exercise] = [m for m in (await client.history(summary.id)).messages if m.steps]
        return exercise


async def test_register_login_and_walk_a_conversation_to_the_thank_you(
    page: Page, envoy: EnvoyProcess, edge_server: RunningServer
) -> None:
    log = PageLog(page)
    email = f"hund-{uuid.uuid4().hex[:8]}@example.org"
    await _login(page, envoy.url, email, PASSWORD, register=True)
    await page.locator("#chat-view").wait_for(state="visible", timeout=30_000)
    await ui.state(page, "WAIT_FOR_SYMPTOM")
    await page.evaluate(TRACK_DELTAS)

    # Hostile text is shown as the characters typed; no element is created and no script runs.
    await ui.say(page, XSS, "WAIT_FOR_SYMPTOM")
    user_bubbles = page.locator("#messages [data-sender='user'] .msg-text")
    assert await user_bubbles.last.text_content() == XSS
    assert await page.locator("#messages img").count() == 0

    await ui.say(
        page,
        "Mein Hund bellt jeden Besucher an der Haustür laut an und springt an ihnen hoch.",
        "WAIT_FOR_CONFIRMATION",
    )
    assert await page.evaluate("window.__maxDeltas") > 1, "the dog's answer did not arrive in pieces"
    await ui.quick(page, "Ja", "WAIT_FOR_CONTEXT")
    await ui.say(page, "Das passiert zu Hause, wenn es klingelt und fremde Menschen hereinkommen.", "ASK_FOR_EXERCISE")
    await ui.quick(page, "Ja", "END_OR_RESTART")
    # The exercise's steps are a numbered list under its text, which no longer ends with them.
    exercise = await _exercise(edge_server, email)
    bubble = page.locator("#messages > li", has=page.locator("ol.msg-steps"))
    assert await bubble.count() == 1
    assert await bubble.locator("ol.msg-steps > li").count() == len(exercise.steps)
    assert await bubble.locator("ol.msg-steps > li").all_text_contents() == list(exercise.steps)
    assert await bubble.locator(".msg-text").text_content() == exercise.text_without_steps
    await ui.quick(page, "Nein", "FEEDBACK_Q1")
    await ui.quick(page, "Ja", "FEEDBACK_Q2")
    await ui.say(page, "Sehr verständlich, ich sehe meinen Hund jetzt anders.", "FEEDBACK_Q3")
    await ui.quick(page, "Ja", "FEEDBACK_Q4")
    await ui.quick(page, "9", "FEEDBACK_Q5")
    await ui.quick(page, "Überspringen", "GREETING")
    last = await page.locator("#messages .msg-text").last.text_content()
    assert "dank" in (last or "").lower()

    await page.locator("#history button").first.wait_for(timeout=10_000)
    VAR.mkdir(exist_ok=True)
    await page.screenshot(path=str(VAR / "web-chat.png"), full_page=True)
    assert log.dialogs == []
    assert log.csp_violations == []
    assert log.errors == []


async def test_rate_limit_shows_a_friendly_german_message(page: Page, own_envoy: EnvoyProcess) -> None:
    """Login is limited to 5 per minute per client IP: the page says so kindly and names the wait. Its own
    server, so the spent budget does not refuse the other browser tests' logins."""
    notice = page.locator("#notice")
    for _ in range(10):
        await _login(page, own_envoy.url, "niemand@example.org", "falsches-passwort", register=False)
        await notice.wait_for(state="visible", timeout=30_000)
        text = await notice.text_content() or ""
        if "Nicht so schnell" in text:
            break
    assert re.search(r"warte (\d+ Sekunden|eine Sekunde|einen Moment)", text), text
