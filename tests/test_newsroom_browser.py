"""The newsroom in a real browser: Debian's Chromium driven by Playwright. An admin signs in
with the link from /web, composes and publishes an item that a subscriber on the emulator
receives, watches its reach on the item page, opens its tracked link, and the attacks fail:
a reused link, forged init data, a POST without its CSRF token, a script in a title, a
stranger, a removed admin. Screenshots of each page go to $COOPBOT_SCREENSHOTS (docs/
screenshots/ holds the ones in the docs) or the test's temporary folder.

Chromium comes from Debian (`apt-get install chromium`): Playwright cannot download its own
here. Without it the tests skip, unless COOPBOT_BROWSER_REQUIRED is set (CI sets it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.i18n import translator
from bot.newsroom.auth import sign_init_data
from testbed.delivery_kit import drain
from testbed.harness import ADMIN_ID, Harness
from testbed.newsroom import sign_in_link, web_harness

playwright = pytest.importorskip("playwright.async_api")

EN = translator("en")
READER_ID, EDITOR_ID = 6101, 6102
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("COOPBOT_BROWSER_REQUIRED"):
    pytest.skip("no chromium here (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with web_harness(database_url, click_tracking=True) as running:
        await running.admin().send(f"/admins add {EDITOR_ID} editor")
        await running.private(READER_ID).send("/subscribe all")
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    assert CHROMIUM, "chromium is required (apt-get install chromium)"
    async with playwright.async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("COOPBOT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# the messages of the alerts, confirms and prompts each page opened (a script in data would
# open one), by page
DIALOGS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


async def new_page(browser, *, width: int = 1280):
    context = await browser.new_context(viewport={"width": width, "height": 900})
    # the items' links lead outside 127.0.0.1: the browser gets a stand-in page instead
    await context.route(
        re.compile(r"^https://example\.coop/.*"),
        lambda route: route.fulfill(
            status=200, body="the co-op's own page", content_type="text/plain"
        ),
    )
    page = await context.new_page()
    dialogs: list[str] = []
    DIALOGS[page] = dialogs
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    return page


async def test_an_admin_composes_publishes_and_watches_the_reach(
    harness: Harness,
    browser,
    shots: Path,
) -> None:
    web = harness.settings.web_url
    page = await new_page(browser)
    link = await sign_in_link(harness.admin())
    await page.goto(link)
    assert page.url == f"{web}/"
    await page.get_by_role("heading", name=EN(texts.WEB_DASHBOARD_TITLE, days=30)).wait_for()
    assert await page.locator("svg[role=img]").count() == 3  # the charts, drawn on the server

    await page.get_by_role("link", name=EN(texts.WEB_NAV_COMPOSE)).click()
    await page.get_by_label(EN(texts.WEB_FIELD_TITLE)).fill("Bakers' co-op opens in Lyon")
    await page.get_by_label(EN(texts.WEB_FIELD_CATEGORY)).fill("News")
    await page.get_by_label(EN(texts.WEB_FIELD_LINK)).fill("https://example.coop/bakers")
    await page.get_by_label(EN(texts.WEB_FIELD_SUMMARY)).fill("Twelve bakers share one oven.")
    await page.get_by_role("button", name=EN(texts.WEB_PREVIEW)).click()
    await page.locator("#preview").get_by_text("Bakers' co-op opens in Lyon").wait_for()
    await page.screenshot(path=shots / "compose.png", full_page=True)
    await page.get_by_role("button", name=EN(texts.WEB_PUBLISH)).click()
    status = page.get_by_role("status")
    await status.wait_for()
    published = re.search(r"#(\d+)", await status.inner_text())
    assert published is not None
    item_id = int(published.group(1))

    await drain(harness)
    [pushed] = [m for m in harness.emu.messages(READER_ID) if "Bakers" in (m.text or "")]
    tracked = re.search(r'href="([^"]+/r/[^"]+)"', pushed.html or "")
    assert tracked, pushed.html  # CLICK_TRACKING: the push links through the newsroom

    await page.goto(f"{web}/items/{item_id}")
    reach = page.locator("#reach")
    await reach.locator("td[data-key=sent]").filter(has_text=re.compile(r"^[1-9]")).wait_for()
    # a reader opens the link: redirected to the item's own page, and counted once
    # (the browser's own request: example.coop is not reachable from here, so the redirect
    # is read, not followed)
    reader = await new_page(browser)
    opened = await reader.request.get(tracked.group(1), max_redirects=0)
    assert opened.status == 302 and opened.headers["location"] == "https://example.coop/bakers"
    # the open page refreshes its figures by itself (item.js): no reload
    await reach.locator("td[data-key=opens]").filter(has_text=re.compile(r"^1$")).wait_for()
    await page.screenshot(path=shots / "item.png", full_page=True)

    await page.goto(f"{web}/items")
    await page.locator("#items").get_by_text("Bakers' co-op opens in Lyon").wait_for()
    await page.screenshot(path=shots / "items.png", full_page=True)
    for path, name in (("/", "dashboard"), ("/feeds", "feeds"), ("/audit", "audit")):
        await page.goto(f"{web}{path}")
        await page.screenshot(path=shots / f"{name}.png", full_page=True)
    narrow = await new_page(browser, width=390)  # as inside Telegram on a phone
    await narrow.context.add_cookies(await page.context.cookies())
    await narrow.goto(f"{web}/")
    await narrow.screenshot(path=shots / "dashboard-phone.png", full_page=True)
    assert not DIALOGS[page]


async def test_the_attacks_fail_in_the_browser(harness: Harness, browser) -> None:
    web = harness.settings.web_url
    owner = harness.admin()
    await owner.send("/add News | <script>alert(1)</script> | https://example.coop/script")
    page = await new_page(browser)
    link = await sign_in_link(owner)
    await page.goto(link)

    # a script in a title is text
    await page.goto(f"{web}/items")
    await page.locator("#items").get_by_text("<script>alert(1)</script>").wait_for()
    assert not DIALOGS[page]

    # a POST without the CSRF token, with the session's cookie: 403, nothing published
    response = await page.request.post(
        f"{web}/items/new",
        form={
            "title": "Forged",
            "category": "News",
            "link": "https://example.coop/f",
            "action": "publish",
        },
    )
    assert response.status == 403
    await page.goto(f"{web}/items")
    assert await page.get_by_text("Forged").count() == 0

    # the used link, in another browser: refused, no session
    stranger = await new_page(browser)
    await stranger.goto(link)
    await stranger.get_by_text(EN(texts.WEB_LINK_REFUSED["used"])).wait_for()
    await stranger.goto(f"{web}/")
    await stranger.get_by_text(EN(texts.WEB_SIGN_IN_NEEDED)).wait_for()

    # forged init data
    fields = {"auth_date": str(int(time.time())), "user": json.dumps({"id": ADMIN_ID})}
    forged = sign_init_data(fields, "123:not-this-bot")
    response = await stranger.request.post(
        f"{web}/api/session", data=json.dumps({"init_data": forged})
    )
    assert response.status == 401

    # a removed admin's open page stops working at once
    editor = await new_page(browser)
    await editor.goto(await sign_in_link(harness.private(EDITOR_ID)))
    await editor.get_by_role("heading", name=EN(texts.WEB_DASHBOARD_TITLE, days=30)).wait_for()
    await owner.send(f"/admins remove {EDITOR_ID}")
    await editor.reload()
    await editor.get_by_text(EN(texts.WEB_SIGN_IN_NEEDED)).wait_for()
