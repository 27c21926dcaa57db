"""Helpers for the browser tests: driving the web chat, axe-core in the page, WCAG contrast ratios."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
AXE = ROOT / "clients" / "web" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "ein-sehr-langes-Passwort-für-Wuff"
DESKTOP = {"width": 1100, "height": 760}
PHONE = {"width": 390, "height": 844}
# WCAG 2.2 level A and AA (axe's tags for them); best-practice rules are not part of the bar.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SYMPTOM = "Mein Hund bellt jeden Besucher an der Haustür laut an und springt an ihnen hoch."
CONTEXT = "Das passiert zu Hause, wenn es klingelt und fremde Menschen hereinkommen."


async def new_page(browser: Browser, *, locale: str = "de-DE", phone: bool = False) -> tuple[BrowserContext, Page]:
    if phone:
        context = await browser.new_context(
            locale=locale, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
        )
    else:
        context = await browser.new_context(locale=locale, viewport=DESKTOP)
    return context, await context.new_page()


async def state(page: Page, expected: str) -> None:
    await page.wait_for_function(
        "(s) => document.querySelector('#chat-view').dataset.state === s && !document.querySelector('#send').disabled",
        arg=expected,
        timeout=30_000,
    )


async def say(page: Page, text: str, expected: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")
    await state(page, expected)


async def quick(page: Page, label: str, expected: str) -> None:
    await page.locator("#quick button", has_text=re.compile(f"^{re.escape(label)}$")).click()
    await state(page, expected)


async def submit_auth(page: Page, email: str, password: str, *, register: bool) -> None:
    """Fill and send the sign-in form of the page as it is (no navigation)."""
    await page.click("#tab-register" if register else "#tab-login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#auth-submit")


async def sign_in(page: Page, url: str, email: str, *, register: bool, password: str = PASSWORD) -> None:
    """Open the page, (register and) log in, and wait for the chat to be ready."""
    await page.goto(url + "/", wait_until="networkidle")
    await submit_auth(page, email, password, register=register)
    await page.locator("#chat-view").wait_for(state="visible", timeout=30_000)
    await chat_ready(page)


async def chat_ready(page: Page) -> None:
    """The chat has resumed a conversation or shows a draft, and no call is in flight."""
    await page.wait_for_function(
        "() => document.querySelector('#chat-view').dataset.state && !document.querySelector('#send').disabled"
        " && document.querySelector('#messages').children.length > 0",
        timeout=30_000,
    )


async def notice(page: Page) -> str:
    box = page.locator("#notice")
    await box.wait_for(state="visible", timeout=30_000)
    return (await box.text_content() or "").strip()


@cache
def _axe_source() -> str:
    assert AXE.is_file(), f"{AXE} missing: run make web (axe-core is a devDependency of clients/web)"
    return AXE.read_text(encoding="utf-8")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the page as it is now: rule id, impact, the nodes' targets."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated over the DevTools protocol, which the page's CSP does not govern (no inline script).
        await page.evaluate(_axe_source())
    result = await page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })",
        WCAG_AA,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")} for n in v["nodes"]],
        }
        for v in result["violations"]
    ]


_COLORS_JS = """(selector) => {
    const node = document.querySelector(selector);
    if (!node) return null;
    const parse = (value) => {
        const m = value.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
        return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
    };
    let background = null;
    for (let el = node; el; el = el.parentElement) {
        const color = parse(getComputedStyle(el).backgroundColor);
        if (color && color.a > 0) { background = color; break; }
    }
    return { color: parse(getComputedStyle(node).color), background: background ?? { r: 255, g: 255, b: 255, a: 1 } };
}"""


def _luminance(rgb: dict[str, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(rgb["r"]) + 0.7152 * channel(rgb["g"]) + 0.0722 * channel(rgb["b"])


def contrast_ratio(foreground: dict[str, float], background: dict[str, float]) -> float:
    """WCAG 2 contrast ratio of two opaque sRGB colours, 1.0 to 21.0."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


async def contrast(page: Page, selector: str) -> float:
    """The contrast of the first match's text colour against the first opaque background behind it."""
    colors = await page.evaluate(_COLORS_JS, selector)
    assert colors is not None, f"nothing matches {selector}"
    assert colors["color"]["a"] == 1, f"{selector}: translucent text"
    return round(contrast_ratio(colors["color"], colors["background"]), 2)


async def small_targets(page: Page, minimum: float) -> list[str]:
    """Visible buttons, links and form fields smaller than `minimum` CSS pixels either way."""
    return await page.evaluate(
        """(minimum) => [...document.querySelectorAll('button, a[href], input, textarea, select')]
            .filter((el) => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')
            .filter((el) => !(el.type === 'checkbox' && el.labels && el.labels.length > 0))  // its label is the target
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([, box]) => box.width > 0 && (box.width < minimum || box.height < minimum))
            .map(([el, box]) => `${el.id || el.tagName.toLowerCase()} "${(el.textContent || '').trim()}"`
                + ` ${Math.round(box.width)}x${Math.round(box.height)}`)""",
        minimum,
    )
