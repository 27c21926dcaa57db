"""The UI language: English when the browser prefers English, German otherwise, a switch that is kept;
a rejected field is named with its reason (google.rpc.BadRequest) in that language; the conversation
follows the language."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, Page

from tests.support.envoy import EnvoyProcess
from tests.web.ui import chat_ready, new_page, notice, say, sign_in, submit_auth

COMMON_PASSWORD = "password123"  # in data/common-passwords.txt


async def _texts(page: Page) -> dict[str, str]:
    return await page.evaluate(
        """() => ({
            lang: document.documentElement.lang,
            tagline: document.querySelector('.tagline').textContent,
            submit: document.querySelector('#auth-submit').textContent,
            switch: document.querySelector('#lang').textContent,
            imprint: document.querySelector('.foot a').textContent,
        })"""
    )


async def test_english_browser_gets_english_and_the_switch_is_kept(browser: Browser, envoy: EnvoyProcess) -> None:
    context, page = await new_page(browser, locale="en-US")
    try:
        assert await page.evaluate("() => navigator.languages[0]") == "en-US"
        await page.goto(envoy.url + "/", wait_until="networkidle")
        await page.locator("#auth-view").wait_for(state="visible")
        assert await _texts(page) == {
            "lang": "en",
            "tagline": "Your dog explains why it does what it does.",
            "submit": "Sign in",
            "switch": "Deutsch",
            "imprint": "Imprint",
        }
        await page.click("#lang")
        assert await _texts(page) == {
            "lang": "de",
            "tagline": "Dein Hund erklärt dir, warum er tut, was er tut.",
            "submit": "Anmelden",
            "switch": "English",
            "imprint": "Impressum",
        }
        assert await page.get_attribute("#lang", "lang") == "en"
        await page.reload(wait_until="networkidle")
        assert (await _texts(page))["lang"] == "de"  # the choice is kept
    finally:
        await context.close()
    context, page = await new_page(browser, locale="fr-FR")
    try:
        await page.goto(envoy.url + "/", wait_until="networkidle")
        await page.locator("#auth-view").wait_for(state="visible")
        assert (await _texts(page))["lang"] == "de"  # neither: German
    finally:
        await context.close()


async def test_rejected_field_shows_its_reason_in_the_ui_language(browser: Browser, own_envoy: EnvoyProcess) -> None:
    """Register allows 3 per minute per IP: three tries here, on a server of their own."""
    context, page = await new_page(browser)
    try:
        await page.goto(own_envoy.url + "/", wait_until="networkidle")
        await submit_auth(page, "hund@example.org", COMMON_PASSWORD, register=True)
        assert await notice(page) == (
            "Passwort: Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wähle ein anderes."
        )
        # A protovalidate rule (string.email) has no localized text from the server: the client words it.
        await submit_auth(page, "kein-at-zeichen", "ein-langes-gutes-Passwort", register=True)
        await page.wait_for_function("() => document.querySelector('#notice').textContent.startsWith('E-Mail:')")
        assert await notice(page) == "E-Mail: Bitte gib eine gültige E-Mail-Adresse an."
        await page.click("#lang")
        await submit_auth(page, "hund@example.org", COMMON_PASSWORD, register=True)
        await page.wait_for_function("() => document.querySelector('#notice').textContent.startsWith('Password:')")
        assert await notice(page) == (
            "Password: This password is too common and easy to guess. Please choose another one."
        )
    finally:
        await context.close()


async def test_conversation_follows_the_language(browser: Browser, own_envoy: EnvoyProcess) -> None:
    context, page = await new_page(browser, locale="en-GB")
    try:
        await sign_in(page, own_envoy.url, f"lang-{uuid.uuid4().hex[:8]}@example.org", register=True)
        assert await page.locator("#messages .msg-intro").text_content() == (
            "Just start writing: what does your dog do? I'll explain why it does it."
        )
        await say(page, "My dog barks at every visitor at the front door and jumps at them.", "WAIT_FOR_CONFIRMATION")
        texts = await page.locator("#messages .msg-text").all_text_contents()
        assert texts[0].startswith("Woof!"), texts
        assert await page.locator("#messages [data-sender='user'] .msg-sender").first.text_content() == "You"
        assert await page.locator("#quick button").all_text_contents() == ["Yes", "No"]

        # Switching to German: the English conversation gives way to a German draft, and the next
        # conversation is German.
        await page.click("#lang")
        await chat_ready(page)
        await page.locator("#messages .msg-intro").wait_for()
        assert await page.locator("#text").get_attribute("placeholder") == (
            "Was macht dein Hund? Zum Beispiel: Er bellt jeden Besucher an."
        )
        await say(page, "Mein Hund bellt jeden Besucher an der Haustür laut an.", "WAIT_FOR_CONFIRMATION")
        texts = await page.locator("#messages .msg-text").all_text_contents()
        assert texts[0].startswith("Wuff!"), texts
        assert await page.locator("#quick button").all_text_contents() == ["Ja", "Nein"]

        # Back to English: the English conversation is resumed.
        await page.click("#lang")
        await page.wait_for_function(
            "() => document.querySelector('#messages .msg-text')?.textContent.startsWith('Woof!')"
        )
        await chat_ready(page)
        assert await page.locator("#history button[data-conversation]").count() == 2
    finally:
        await context.close()
