"""Export my data and delete my account in the web app, with the CLI's confirmations: an explicit
"yes, delete everything for good" and the password."""

from __future__ import annotations

import json
import uuid

from playwright.async_api import Browser

from tests.support.envoy import EnvoyProcess
from tests.web.test_page import PageLog
from tests.web.ui import (
    DESKTOP,
    PASSWORD,
    PHONE,
    SYMPTOM,
    VAR,
    axe_violations,
    new_page,
    notice,
    say,
    sign_in,
    submit_auth,
)


async def test_export_then_delete_the_account(browser: Browser, own_envoy: EnvoyProcess) -> None:
    context, page = await new_page(browser)
    log = PageLog(page)
    email = f"konto-{uuid.uuid4().hex[:8]}@example.org"
    try:
        await sign_in(page, own_envoy.url, email, register=True)
        await say(page, SYMPTOM, "WAIT_FOR_CONFIRMATION")
        await page.click("#account")
        await page.locator("#account-view").wait_for(state="visible")
        assert await page.evaluate("() => document.activeElement.id") == "account-title"
        assert await axe_violations(page) == []
        VAR.mkdir(exist_ok=True)
        await page.set_viewport_size(PHONE)
        await page.screenshot(path=str(VAR / "web-account-phone.png"), full_page=True)
        assert await axe_violations(page) == []
        await page.set_viewport_size(DESKTOP)

        # Export: a JSON file with the profile and the conversation.
        async with page.expect_download() as info:
            await page.click("#export")
        download = await info.value
        assert download.suggested_filename == "wuffchat-export.json"
        exported = json.loads((await download.path()).read_text(encoding="utf-8"))
        assert email in json.dumps(exported)
        assert SYMPTOM in json.dumps(exported, ensure_ascii=False)
        assert await notice(page) == "Deine Daten sind heruntergeladen."

        # Delete: first the explicit yes, then the password; a wrong one is named as such.
        await page.fill("#delete-password", PASSWORD)
        await page.click("#delete-submit")
        assert await notice(page) == "Bitte bestätige, dass du dein Konto und alle Daten endgültig löschen willst."
        await page.check("#delete-confirm")
        await page.fill("#delete-password", "nicht-das-passwort")
        await page.click("#delete-submit")
        await page.wait_for_function("() => document.querySelector('#notice').textContent.startsWith('Passwort:')")
        assert await notice(page) == "Passwort: Das Passwort stimmt nicht."
        assert await page.locator("#account-view").is_visible()
        await page.fill("#delete-password", PASSWORD)
        await page.click("#delete-submit")
        await page.locator("#auth-view").wait_for(state="visible", timeout=10_000)
        assert await notice(page) == "Konto gelöscht."
        assert await page.evaluate("() => sessionStorage.length") == 0

        # The account is gone: signing in fails.
        await submit_auth(page, email, PASSWORD, register=False)
        await page.wait_for_function("() => document.querySelector('#notice').textContent !== 'Konto gelöscht.'")
        assert await notice(page) == "Das hat nicht geklappt: E-Mail oder Passwort stimmen nicht."
        assert log.dialogs == []
        assert log.errors == []
        assert log.csp_violations == []
    finally:
        await context.close()
