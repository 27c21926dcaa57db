"""Loading the page or signing in resumes the owner's last live conversation; a conversation is created
only when the owner writes, so the history never fills with empty ones."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, Page

from tests.support.envoy import EnvoyProcess
from tests.web.test_page import PageLog
from tests.web.ui import PASSWORD, SYMPTOM, chat_ready, new_page, say, sign_in, submit_auth


async def _history(page: Page) -> list[str]:
    """The conversation ids in the history list, once it has been drawn."""
    await page.locator("#history li").first.wait_for(timeout=10_000)
    return await page.locator("#history button[data-conversation]").evaluate_all(
        "(buttons) => buttons.map((b) => b.dataset.conversation)"
    )


async def _current(page: Page) -> str | None:
    return await page.locator("#history button[aria-current='true']").get_attribute("data-conversation")


async def test_reload_and_sign_in_resume_the_conversation_and_create_none(
    browser: Browser, own_envoy: EnvoyProcess
) -> None:
    context, page = await new_page(browser)
    log = PageLog(page)
    email = f"resume-{uuid.uuid4().hex[:8]}@example.org"
    try:
        await sign_in(page, own_envoy.url, email, register=True)
        # A draft: an intro line, nothing created on the server.
        assert await page.locator("#messages .msg-intro").count() == 1
        assert await _history(page) == []
        await page.reload(wait_until="networkidle")
        await chat_ready(page)
        assert await _history(page) == []

        # The first message creates the conversation (greeting, then the owner's turn).
        await say(page, SYMPTOM, "WAIT_FOR_CONFIRMATION")
        await page.wait_for_function("() => document.querySelectorAll('#history button').length === 1")
        [created] = await _history(page)
        texts = await page.locator("#messages .msg-text").all_text_contents()
        assert texts[0].startswith("Wuff!"), texts
        assert SYMPTOM in texts

        # A reload resumes it with its messages and state; nothing new appears in the history.
        await page.reload(wait_until="networkidle")
        await chat_ready(page)
        assert await page.locator("#chat-view").get_attribute("data-state") == "WAIT_FOR_CONFIRMATION"
        assert await page.locator("#messages .msg-text").all_text_contents() == texts
        assert await _history(page) == [created]
        assert await _current(page) == created
        assert await page.evaluate("() => document.activeElement.id") == "text"

        # So does signing out and in again.
        await page.click("#logout")
        await page.locator("#auth-view").wait_for(state="visible")
        await submit_auth(page, email, PASSWORD, register=False)
        await page.locator("#chat-view").wait_for(state="visible", timeout=30_000)
        await chat_ready(page)
        assert await page.locator("#messages .msg-text").all_text_contents() == texts
        assert await _history(page) == [created]

        # "New conversation" is a draft again; still nothing is created until the owner writes.
        await page.click("#new-conversation")
        assert await page.locator("#messages .msg-intro").count() == 1
        assert await page.locator("#chat-view").get_attribute("data-state") == "WAIT_FOR_SYMPTOM"
        await page.reload(wait_until="networkidle")
        await chat_ready(page)
        assert await _history(page) == [created]  # the reload resumed the live one, created none
        assert await page.locator("#messages .msg-text").all_text_contents() == texts
        assert log.errors == []
    finally:
        await context.close()
