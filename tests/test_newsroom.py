"""The web newsroom over HTTP, as a browser uses it: signing in with a link from /web or a
Mini App's init data, the pages and the API behind a session, and what refuses a stranger
(a used or expired link, forged init data, a missing CSRF token, a removed admin, too many
failed sign-ins). The bot runs on the emulator; its server listens on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.db.base import utcnow
from bot.db.models import Feed, Item
from bot.i18n import translator
from bot.newsroom.auth import FAILURES_PER_MINUTE, sign_init_data
from bot.services.newsroom import PAGE_SIZE
from bot.services.validation import ItemDraft
from testbed.delivery_kit import drain, publish, services, sessions
from testbed.harness import ADMIN_ID, TOKEN, Harness, bot_harness
from testbed.newsroom import browser_like, free_port, sign_in_link, signed_in, web_harness

EN = translator("en")
EDITOR_ID, AUTHOR_ID, READER_ID = 6002, 6003, 6004


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with web_harness(database_url) as running:
        owner = running.admin()
        await owner.send(f"/admins add {EDITOR_ID} editor")
        await owner.send(f"/admins add {AUTHOR_ID} author")
        yield running


async def item_count(harness: Harness) -> int:
    async with sessions(harness)() as session:
        return int(await session.scalar(select(func.count()).select_from(Item)) or 0)


def url(harness: Harness, path: str) -> str:
    return f"{harness.settings.web_url}{path}"


async def test_a_link_from_web_signs_in_once_with_a_safe_cookie(harness: Harness) -> None:
    link = await sign_in_link(harness.admin())
    async with browser_like() as client:
        async with client.get(link, allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # plain http on 127.0.0.1; Secure under https
        async with client.get(url(harness, "/")) as response:
            assert response.status == 200
            page = await response.text()
        assert EN(texts.WEB_DASHBOARD_TITLE, days=30) in page
    # the same link again, in another browser: refused, and no session
    async with browser_like() as other:
        async with other.get(link, allow_redirects=False) as response:
            assert response.status == 410
            assert EN(texts.WEB_LINK_REFUSED["used"]) in await response.text()
            assert "Set-Cookie" not in response.headers
        async with other.get(url(harness, "/")) as response:
            assert response.status == 401


async def test_an_expired_or_unknown_link_starts_no_session(harness: Harness) -> None:
    link = await sign_in_link(harness.admin())
    web_sessions = services(harness).web_sessions
    later = web_sessions.now() + timedelta(minutes=11)
    web_sessions.now = lambda: later
    async with browser_like() as client:
        async with client.get(link, allow_redirects=False) as response:
            assert response.status == 410
            assert EN(texts.WEB_LINK_REFUSED["expired"]) in await response.text()
        async with client.get(url(harness, "/login/nothing-like-a-token")) as response:
            assert response.status == 404
            assert EN(texts.WEB_LINK_REFUSED["unknown"]) in await response.text()
        assert not client.cookie_jar.filter_cookies(harness.settings.web_url or "")


async def test_web_is_for_owners_and_editors_only(harness: Harness) -> None:
    reader = harness.private(READER_ID)
    assert (await reader.reply("/web")).text == EN(texts.NOT_ADMIN)
    author = harness.private(AUTHOR_ID)
    assert "/web" not in (await author.reply("/web")).text
    editor = harness.private(EDITOR_ID)
    assert "/login/" in (await editor.reply("/web")).text


async def test_without_web_url_web_says_how_to_turn_it_on(database_url: str) -> None:
    async with bot_harness(database_url) as harness:
        reply = await harness.admin().reply("/web")
        assert "WEB_URL" in reply.text and "/login/" not in reply.text


async def test_every_page_and_api_needs_a_session_and_carries_the_headers(harness: Harness) -> None:
    async with browser_like() as client:
        for path in ("/", "/items", "/items/new", "/feeds", "/audit", "/items/1"):
            async with client.get(url(harness, path)) as response:
                assert response.status == 401, path
                assert EN(texts.WEB_SIGN_IN_NEEDED) in await response.text()
        async with client.get(url(harness, "/api/stats/daily?days=7")) as response:
            assert response.status == 401
            assert (await response.json())["error"] == EN(texts.WEB_SIGN_IN_NEEDED)
        await signed_in(harness.admin(), client)
        for path in ("/", "/items", "/items/new", "/feeds", "/audit", "/app"):
            async with client.get(url(harness, path)) as response:
                assert response.status == 200, path
                policy = response.headers["Content-Security-Policy"]
                assert "unsafe-inline" not in policy and "script-src 'self'" in policy
                assert "frame-ancestors https://web.telegram.org" in policy
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Referrer-Policy"] == "same-origin"
                page = await response.text()
            assert "<script>" not in page  # no inline script anywhere
        async with client.get(url(harness, "/app")) as response:
            assert "https://telegram.org" in response.headers["Content-Security-Policy"]
            assert "telegram-web-app.js" in await response.text()


async def test_compose_previews_publishes_and_subscribers_receive_it(harness: Harness) -> None:
    reader = harness.private(READER_ID)
    await reader.send("/subscribe all")
    before = await item_count(harness)
    form = {
        "title": "Housing co-ops grow",
        "category": "News",
        "link": "https://example.coop/web-housing",
        "summary": "Tenants buy together.",
        "language": "en",
        "picture": "",
        "schedule": "",
    }
    async with browser_like() as client:
        csrf = await signed_in(harness.admin(), client)
        async with client.post(
            url(harness, "/items/new"), data={**form, "csrf": csrf, "action": "preview"}
        ) as response:
            page = await response.text()
        assert 'id="preview"' in page and "Housing co-ops grow" in page
        assert await item_count(harness) == before  # a preview publishes nothing
        async with client.post(
            url(harness, "/items/new"), data={**form, "csrf": csrf, "action": "publish"}
        ) as response:
            page = await response.text()
        found = re.search(r"/items/(\d+)", page.split('role="status"')[1])
        assert found, page
        item_id = int(found.group(1))
        await drain(harness)
        received = [m for m in harness.emu.messages(READER_ID) if "Housing co-ops grow" in m.text]
        assert len(received) == 1
        async with client.get(url(harness, f"/api/items/{item_id}")) as response:
            figures = await response.json()
        assert figures["id"] == item_id and figures["title"] == "Housing co-ops grow"
        assert figures["sent"] >= 1 and figures["pending"] == 0
        assert {"failed", "blocked", "opens", "reactions"} <= set(figures)
        async with client.get(url(harness, "/audit")) as response:
            assert "publish" in await response.text()


async def test_a_bad_form_gets_the_chat_flow_s_error_and_publishes_nothing(
    harness: Harness,
) -> None:
    before = await item_count(harness)
    async with browser_like() as client:
        csrf = await signed_in(harness.admin(), client)
        async with client.post(
            url(harness, "/items/new"),
            data={
                "csrf": csrf,
                "action": "publish",
                "title": " ",
                "category": "News",
                "link": "https://x.coop/a",
            },
        ) as response:
            page = await response.text()
        assert EN(texts.PROBLEMS["empty_title"]) in page
        async with client.post(
            url(harness, "/items/new"),
            data={
                "csrf": csrf,
                "action": "publish",
                "title": "T",
                "category": "News",
                "link": "ftp://x",
            },
        ) as response:
            assert EN(texts.PROBLEMS["bad_url"]) in await response.text()
    assert await item_count(harness) == before


async def test_a_post_without_the_right_csrf_token_is_refused(harness: Harness) -> None:
    before = await item_count(harness)
    form = {
        "title": "Forged",
        "category": "News",
        "link": "https://x.coop/forged",
        "action": "publish",
    }
    async with browser_like() as client:
        await signed_in(harness.admin(), client)
        async with client.post(url(harness, "/items/new"), data=form) as response:
            assert response.status == 403
            assert EN(texts.WEB_FORBIDDEN) in await response.text()
        async with client.post(
            url(harness, "/items/new"), data={**form, "csrf": "x" * 43}
        ) as response:
            assert response.status == 403
    assert await item_count(harness) == before


async def test_a_script_in_a_title_is_shown_as_text(harness: Harness) -> None:
    owner = harness.admin()
    await owner.send("/add News | <script>alert(1)</script> | https://x.coop/script")
    async with browser_like() as client:
        await signed_in(owner, client)
        for path in ("/items", "/audit"):
            async with client.get(url(harness, path)) as response:
                page = await response.text()
            assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_removed_admin_s_session_ends_at_once(harness: Harness) -> None:
    async with browser_like() as client:
        await signed_in(harness.private(EDITOR_ID), client)
        async with client.get(url(harness, "/items")) as response:
            assert response.status == 200
        await harness.admin().send(f"/admins remove {EDITOR_ID}")
        async with client.get(url(harness, "/items")) as response:
            assert response.status == 401
        # ended, not merely refused: made an editor again, they sign in afresh
        await harness.admin().send(f"/admins add {EDITOR_ID} editor")
        async with client.get(url(harness, "/items")) as response:
            assert response.status == 401


async def test_sign_out_ends_the_session(harness: Harness) -> None:
    async with browser_like() as client:
        csrf = await signed_in(harness.admin(), client)
        async with client.post(url(harness, "/logout"), data={"csrf": csrf}) as response:
            assert EN(texts.WEB_SIGNED_OUT) in await response.text()
        async with client.get(url(harness, "/")) as response:
            assert response.status == 401


def init_data(user_id: int, *, token: str = TOKEN, age: float = 0) -> str:
    fields = {
        "auth_date": str(int(time.time() - age)),
        "query_id": "AAE",
        "user": json.dumps({"id": user_id, "first_name": "Ada"}),
    }
    return sign_init_data(fields, token)


async def test_a_mini_app_signs_in_with_init_data_signed_for_this_bot(harness: Harness) -> None:
    async with browser_like() as client:
        for refused in (
            init_data(ADMIN_ID, token="999:forged"),  # signed for another bot
            init_data(ADMIN_ID, age=25 * 3600),  # over a day old
            init_data(READER_ID),  # signed, but not an admin
            init_data(ADMIN_ID).replace("Ada", "Eve"),  # changed after signing
        ):
            async with client.post(
                url(harness, "/api/session"), json={"init_data": refused}
            ) as response:
                assert response.status == 401
        async with client.post(url(harness, "/api/session"), data="not json") as response:
            assert response.status == 401
        async with client.get(url(harness, "/")) as response:
            assert response.status == 401
        async with client.post(
            url(harness, "/api/session"), json={"init_data": init_data(ADMIN_ID)}
        ) as response:
            assert response.status == 200
        async with client.get(url(harness, "/")) as response:
            assert response.status == 200


async def test_failed_sign_ins_are_capped_per_address(harness: Harness) -> None:
    async with browser_like() as client:
        for _ in range(FAILURES_PER_MINUTE):
            async with client.get(url(harness, "/login/unknown")) as response:
                assert response.status == 404
        async with client.get(url(harness, "/login/unknown")) as response:
            assert response.status == 429
        # a good link from that address waits too
        link = await sign_in_link(harness.admin())
        async with client.get(link, allow_redirects=False) as response:
            assert response.status == 429


async def test_the_daily_api_checks_its_days(harness: Harness) -> None:
    async with browser_like() as client:
        await signed_in(harness.admin(), client)
        for bad in ("0", "366", "x", "-1", "7.5"):
            async with client.get(url(harness, f"/api/stats/daily?days={bad}")) as response:
                assert response.status == 400, bad
        async with client.get(url(harness, "/api/stats/daily?days=7")) as response:
            days = await response.json()
    assert len(days) == 7
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    assert set(days[0]) == {
        "date",
        "subscribers",
        "joined",
        "left",
        "sent",
        "failed",
        "blocked",
        "opens",
    }


async def test_the_web_speaks_the_admin_s_language(harness: Harness) -> None:
    item = await publish(harness, "Decent work")
    found = services(harness)
    await found.categories.set_name(item.category_id, "fr", "Travail décent", actor_id=ADMIN_ID)
    async with sessions(harness).begin() as session:  # a feed as /feeds add makes it, unfetched
        far = utcnow() + timedelta(days=1)
        session.add(
            Feed(url="https://example.org/feed.xml", category="Decent work", next_poll_at=far)
        )
    owner = harness.admin()
    await owner.send("/language fr")
    fr = translator("fr")
    async with browser_like() as client:
        await signed_in(owner, client)
        async with client.get(url(harness, "/items")) as response:
            page = await response.text()
        async with client.get(url(harness, "/feeds")) as response:
            feeds = await response.text()
    assert fr(texts.WEB_ITEMS_TITLE) in page and 'lang="fr"' in page
    # each filter's empty choice agrees with its noun
    assert fr(texts.WEB_ANY_CATEGORY) == "Toutes les catégories"
    for any_choice in (texts.WEB_ANY_CATEGORY, texts.WEB_ANY_LANGUAGE, texts.WEB_ANY_STATUS):
        assert fr(any_choice) in page
    # the admin's own language is not taken for a filter on the items' language
    assert " selected>" not in page
    # categories by their French names, in the filter, the item's row and the feed's row
    assert f'value="{item.category_id}">Travail décent</option>' in page
    assert "<td>Travail décent</td>" in page and "Decent work" not in page
    assert "<td>Travail décent</td>" in feeds


async def test_one_listener_serves_the_webhook_and_the_newsroom(database_url: str) -> None:
    port = free_port()
    async with bot_harness(
        database_url,
        web_url=f"http://127.0.0.1:{port}",
        web_listen=f"127.0.0.1:{port}",
        webhook_url="https://bot.example.org/tg/hook",
        webhook_secret="s3cret",
        webhook_listen=f"127.0.0.1:{port}",
    ) as harness:
        [server] = services(harness).runtime.web_servers
        assert server.port == port
        token = await services(harness).web_sessions.issue_link(ADMIN_ID)
        async with browser_like() as client:
            async with client.post(url(harness, "/tg/hook"), json={"update_id": 1}) as response:
                assert response.status == 403  # the webhook is here (and wants its secret)
            async with client.get(
                url(harness, f"/login/{token}"), allow_redirects=False
            ) as response:
                assert response.status == 302
            async with client.get(url(harness, "/items")) as response:
                assert response.status == 200
            async with client.get(url(harness, "/healthz")) as response:
                assert await response.text() == "ok"


async def test_an_item_is_corrected_and_withdrawn_from_its_page(harness: Harness) -> None:
    reader = harness.private(READER_ID)
    await reader.send("/subscribe all")
    owner = harness.admin()
    await owner.send("/add News | Bakers unite | https://x.coop/bakers | One oven.")
    await drain(harness)
    [pushed] = [m for m in harness.emu.messages(READER_ID) if "Bakers unite" in m.text]
    async with sessions(harness)() as session:
        item_id = await session.scalar(select(func.max(Item.id)))
    async with browser_like() as client:
        csrf = await signed_in(owner, client)
        edited = {"csrf": csrf, "title": "Bakers unite in Lyon", "link": "https://x.coop/bakers"}
        async with client.post(url(harness, f"/items/{item_id}/edit"), data=edited) as response:
            page = await response.text()
        assert EN(texts.WEB_EDITED, n=1) in page
        await drain(harness)
        corrected = harness.emu.bot_message(READER_ID, pushed.message_id)
        assert corrected is not None and "Bakers unite in Lyon" in corrected.text
        async with client.post(
            url(harness, f"/items/{item_id}/edit"), data={**edited, "title": ""}
        ) as response:
            assert EN(texts.PROBLEMS["empty_title"]) in await response.text()
        async with client.post(
            url(harness, f"/items/{item_id}/delete"), data={"csrf": csrf}
        ) as response:
            assert EN(texts.WEB_DELETED, n=1) in await response.text()
        await drain(harness)
        async with client.get(url(harness, "/items?status=deleted")) as response:
            assert "Bakers unite in Lyon" in await response.text()
        async with client.post(
            url(harness, f"/items/{item_id}/delete"), data={"csrf": csrf}
        ) as response:
            assert EN(texts.WEB_ALREADY_DELETED) in await response.text()


async def test_under_https_owners_and_editors_get_a_newsroom_menu_button(database_url: str) -> None:
    port = free_port()
    async with bot_harness(
        database_url, web_url="https://news.example.coop", web_listen=f"127.0.0.1:{port}"
    ) as harness:
        await harness.admin().send("/start")
        await harness.admin().send(f"/admins add {EDITOR_ID} editor")
        await harness.admin().send(f"/admins add {AUTHOR_ID} author")
        buttons = harness.emu.menu_buttons
        for user_id in (ADMIN_ID, EDITOR_ID):
            assert buttons[user_id]["type"] == "web_app"
            assert buttons[user_id]["web_app"]["url"] == "https://news.example.coop/app"
            assert buttons[user_id]["text"] == EN(texts.WEB_BUTTON_NEWSROOM)
        assert buttons[AUTHOR_ID]["type"] == "default"
        # removed: the default button again
        await harness.admin().send(f"/admins remove {EDITOR_ID}")
        assert buttons[EDITOR_ID]["type"] == "default"
        reply = await harness.admin().reply("/web")
        assert "https://news.example.coop/login/" in reply.text
        assert reply.buttons[0]["url"].startswith("https://news.example.coop/login/")


async def test_the_items_list_and_a_search_go_page_by_page(harness: Harness) -> None:
    news = services(harness).news
    for n in range(PAGE_SIZE + 3):
        draft = ItemDraft("News", f"Oven story {n}", f"https://x.coop/oven/{n}", None)
        await news.publish(draft, source="test", broadcast=False)
    async with browser_like() as client:
        await signed_in(harness.admin(), client)
        seen: set[str] = set()
        for path in ("/items", "/items?q=oven"):
            next_page: str | None = path
            pages = 0
            while next_page:
                async with client.get(url(harness, next_page.replace("&amp;", "&"))) as response:
                    page = await response.text()
                pages += 1
                titles = re.findall(r">(Oven story \d+)</a>", page)
                assert titles and not (set(titles) & seen), path
                seen |= set(titles)
                found = re.search(r'<p class="paging"><a href="([^"]+)"', page)
                next_page = found.group(1) if found else None
            assert pages == 2 and len(seen) == PAGE_SIZE + 3, path
            seen = set()
        # a forged cursor gives the first page again, not an error
        async with client.get(url(harness, "/items?q=oven&after=forged")) as response:
            assert response.status == 200 and "Oven story" in await response.text()
