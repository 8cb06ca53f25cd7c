"""Inline mode, deep links and Share buttons, end to end: a user types `@CoopNewsBot …`,
chooses a result, follows `t.me/CoopNewsBot?start=…` links, and taps Share under /category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import i18n, texts
from bot.context import Services
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator import HostedFile
from emulator.files import make_png
from testbed.harness import ADMIN_ID, BOT_USERNAME, GROUP_ID, Harness

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


async def _publish(
    harness: Harness,
    title: str,
    category: str = "News",
    days: int = 0,
    image_url: str | None = None,
) -> ItemView:
    published = await _services(harness).news.publish(
        ItemDraft(
            category,
            title,
            f"https://coop.example/{abs(hash(title))}",
            f"Summary of {title}",
            image_url=image_url,
        ),
        source="test",
        published_at=T0 + timedelta(days=days),
        broadcast=False,
    )
    return published.item


async def _publish_many(harness: Harness, count: int) -> list[ItemView]:
    return [await _publish(harness, f"Story {n}", days=n) for n in range(count)]


# -- inline queries ------------------------------------------------------------------------


async def test_an_empty_query_pages_the_latest_items_up_to_fifty(harness: Harness) -> None:
    await _publish_many(harness, 55)
    reader = harness.in_group(2002)
    titles: list[str] = []
    offset = ""
    for page in range(5):
        answer = await reader.inline("", offset)
        assert len(answer.results) == 10, page
        assert answer.is_personal and answer.cache_time == 30
        assert answer.button is None
        titles += [r.title for r in answer.results]
        offset = answer.next_offset
        assert len(offset.encode()) <= 64
        if page < 4:
            assert offset, page
    assert offset == ""  # 50 in all, though 5 more items exist
    assert titles == [f"Story {n}" for n in range(54, 4, -1)]
    assert len(set(titles)) == 50


async def test_results_speak_the_readers_language(harness: Harness) -> None:
    # the same query from three users: only answers marked is_personal keep Telegram's cache
    # from giving the first reader's English answer to the others
    item = await _publish(harness, "Housing co-ops grow", "Housing", days=7)
    descriptions = {}
    for language in ("en", "fr", "es"):
        answer = await harness.private(language_code=language).inline("")
        [result] = answer.results
        assert result.title == "Housing co-ops grow"
        descriptions[language] = result.description
        date = i18n.translator(language).date(item.published_at, _services(harness).settings.tz)
        assert result.description == f"{date} · Housing"
        assert result.buttons[0]["text"] == i18n.translator(language)(texts.INLINE_OPEN_ITEM_BUTTON)
    assert descriptions["en"] == "8 Jan 2024 · Housing"
    assert len(set(descriptions.values())) == 3  # "Jan", "janv.", "ene"


async def test_a_language_chosen_in_the_private_chat_wins_over_the_app(
    harness: Harness,
) -> None:
    await _publish(harness, "Housing co-ops grow", "Housing", days=7)
    reader = harness.private(language_code="en")
    await reader.send("/language es")
    [result] = (await reader.inline("")).results
    assert result.description == "8 ene 2024 · Housing"


async def test_a_query_lists_the_matching_items(harness: Harness) -> None:
    await _publish(harness, "Housing co-ops grow", "Housing", days=1)
    await _publish(harness, "A fund for housing", "Finance", days=2)
    await _publish(harness, "Farmers meet", "Agriculture", days=3)
    answer = await harness.private().inline("housing")
    assert {r.title for r in answer.results} == {"Housing co-ops grow", "A fund for housing"}
    assert answer.button is None and answer.next_offset == ""


async def test_a_query_pages_its_matches_up_to_fifty(harness: Harness) -> None:
    await _publish_many(harness, 55)
    await _publish(harness, "Farmers meet", "Agriculture")
    reader = harness.private()
    ids: list[str] = []
    offset = ""
    for page in range(5):
        answer = await reader.inline("story", offset)
        assert len(answer.results) == 10, page
        ids += answer.ids
        offset = answer.next_offset
        assert len(offset.encode()) <= 64 and (offset or page == 4)
    assert offset == "" and len(set(ids)) == 50
    # the search's syntax works inline too
    answer = await reader.inline('"story 7" or farmers')
    assert {r.title for r in answer.results} == {"Story 7", "Farmers meet"}


async def test_no_match_answers_empty_with_a_button_to_the_bot(harness: Harness) -> None:
    await _publish(harness, "Housing co-ops grow")
    reader = harness.private(first_name="Ada")
    answer = await reader.inline("zanzibar quasar")
    assert answer.results == []
    assert answer.button == {"text": "Open Co-op News Bot", "start_parameter": "inline"}
    # the button starts a private chat with `/start inline`: the welcome
    welcome = await reader.reply(f"/start {answer.button['start_parameter']}")
    assert "Welcome to Co-op News Bot, Ada!" in welcome.text
    # nothing to look for (every word excluded) is no match either
    answer = await reader.inline("-housing")
    assert answer.results == [] and answer.button["start_parameter"] == "inline"


async def test_an_empty_archive_answers_with_the_button_too(harness: Harness) -> None:
    answer = await harness.private(language_code="fr").inline("")
    assert answer.results == []
    assert answer.button == {"text": "Ouvrir Co-op News Bot", "start_parameter": "inline"}


FORGED_OFFSETS = (
    "abc",
    "10",
    "10:",
    "0:1.1",
    "50:1.1",
    "99:1.1",
    "10:x.y",
    "10:-1.-1",
    "10:1.0",
    "10:" + "9" * 40 + ".1",
    "١٠:1.1",  # Arabic-Indic digits
    "10:1.1'; DROP TABLE items; --",
)


async def test_forged_offsets_get_an_empty_answer(harness: Harness) -> None:
    await _publish_many(harness, 3)
    reader = harness.private()
    for offset in FORGED_OFFSETS:
        for query in ("", "story"):
            answer = await reader.inline(query, offset)
            assert answer.results == [], (query, offset)
            assert answer.next_offset == "" and answer.button is None


async def test_choosing_a_result_posts_the_item_with_a_button_to_the_bot(
    harness: Harness,
) -> None:
    harness.emu.inline_feedback = True
    item = await _publish(harness, "Housing <co-ops> & more", "Housing", days=3)
    reader = harness.in_group(2002, language_code="fr")
    await reader.send("/help")  # the bot is in the group
    answer = await reader.inline("")
    [result] = answer.results
    said_in_group = harness.message_count(GROUP_ID)
    post = await reader.choose(answer, result.id)
    assert post.chat_id == GROUP_ID and post.user_id == 2002
    assert post.text.startswith("Housing <co-ops> & more\n")
    assert "4 janv. 2024 · Housing" in post.text  # the card, in the reader's language
    assert "Summary of Housing <co-ops> & more" in post.text
    links = [e["url"] for e in post.entities if e["type"] == "text_link"]
    assert links == [item.url]
    assert post.link_preview_options == {"is_disabled": True}
    [button] = post.buttons
    assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=item_{item.id}"
    assert button["text"] == "📰 Ouvrir dans Co-op News Bot"
    # the bot saw the message via itself and the chosen result, and said nothing
    assert harness.emu.messages(GROUP_ID)[-1].text != post.text
    assert harness.message_count(GROUP_ID) == said_in_group
    before = harness.message_count(GROUP_ID)
    private = harness.private(3003)
    await private.send("/start")
    own = await private.inline("")
    updates = harness.emu.last_update_id
    await private.choose(own, own.results[0].id)
    assert harness.emu.last_update_id == updates + 2  # the message via the bot, the choice
    assert harness.message_count(private.chat_id) == 1  # no "I only understand commands"
    assert harness.message_count(GROUP_ID) == before
    # with /setinlinefeedback on, chosen results are counted: how often items are shared
    registry = harness.application.metrics.registry
    chosen = {"type": "chosen_inline_result"}
    assert registry.get_sample_value("coopbot_updates_total", chosen) == 2


async def test_an_item_with_a_picture_shows_it_as_a_large_preview(harness: Harness) -> None:
    picture = "https://ilo.example/images/housing.jpg"
    await _publish(harness, "Housing co-ops grow", image_url=picture)
    answer = await harness.private().inline("")
    [result] = answer.results
    assert result.type == "article"
    assert result.raw["thumbnail_url"] == picture
    assert result.link_preview_options == {
        "is_disabled": False,
        "url": picture,
        "prefer_large_media": True,
        "show_above_text": True,
    }


# -- deep links ----------------------------------------------------------------------------


async def test_start_item_shows_the_item_with_a_share_button(harness: Harness) -> None:
    item = await _publish(harness, "Housing co-ops grow", "Housing", days=3)
    reply = await harness.private(language_code="es").reply(f"/start item_{item.id}")
    assert reply.text.startswith("Housing co-ops grow\n")
    assert "4 ene 2024 · Housing" in reply.text and "/latest" in reply.text
    assert [e["url"] for e in reply.entities if e["type"] == "text_link"] == [item.url]
    [share] = reply.buttons
    assert share == {"text": "↗️ Compartir", "switch_inline_query": "Housing co-ops grow"}


async def test_start_item_with_a_picture_shows_it_as_a_photo(harness: Harness) -> None:
    picture = "https://ilo.example/images/housing.jpg"
    harness.emu.files.hosted[picture] = HostedFile(make_png(320, 200))
    item = await _publish(harness, "Housing co-ops grow", image_url=picture)
    reply = await harness.private().reply(f"/start item_{item.id}")
    # a single-item view goes out as subscribers get it: the picture, the card as caption
    assert reply.is_photo and reply.photo_url == picture
    assert reply.caption.startswith("Housing co-ops grow\n") and "/latest" in reply.caption
    [share] = reply.buttons
    assert share["switch_inline_query"] == "Housing co-ops grow"


GONE_PAYLOADS = (
    "item_999999",
    "item_abc",
    "item_-1",
    "item_0",
    "item_",
    "item_1.5",
    "item_１",  # fullwidth digit
    "item_" + "9" * 295,  # 300 characters
    "item_99999999999999999999999",
)


async def test_start_with_an_unknown_or_forged_item_says_it_is_gone(harness: Harness) -> None:
    await _publish(harness, "Housing co-ops grow")
    reader = harness.private()
    for payload in GONE_PAYLOADS:
        reply = await reader.reply(f"/start {payload}")
        assert reply.text == (
            "Sorry, this item is no longer available. /latest shows the newest co-op news."
        ), payload
        assert reply.buttons == []


async def test_start_with_a_deleted_item_says_it_is_gone(harness: Harness) -> None:
    item = await _publish(harness, "Housing co-ops grow")
    await _services(harness).corrections.delete(ADMIN_ID, item.id)
    reply = await harness.private(language_code="fr").reply(f"/start item_{item.id}")
    assert reply.text.startswith("Désolé, cet article n’est plus disponible.")
    assert reply.buttons == []


async def test_start_sub_subscribes_this_chat_with_one_tap(harness: Harness) -> None:
    item = await _publish(harness, "Housing co-ops grow", "Housing")
    subscriptions = _services(harness).subscriptions
    reader = harness.private()
    offer = await reader.reply(f"/start sub_{item.category_id}")
    assert "<b>Housing</b>" in (offer.html or "")
    [button] = offer.buttons
    assert button["text"] == "🔔 Subscribe to Housing"
    assert (await subscriptions.following(reader.chat_id)).category_ids == frozenset()
    _, answers = await reader.press(offer, "Subscribe")
    assert answers[0]["text"] == "Following Housing"
    following = await subscriptions.following(reader.chat_id)
    assert following.category_ids == frozenset({item.category_id})
    again = await reader.reply(f"/start sub_{item.category_id}")
    assert again.text == "This chat already follows Housing." and again.buttons == []


async def test_start_sub_in_a_group_takes_an_administrator_to_tap(harness: Harness) -> None:
    item = await _publish(harness, "Housing co-ops grow", "Housing")
    subscriptions = _services(harness).subscriptions
    harness.emu.set_member_status(GROUP_ID, 4001, "member")
    harness.emu.set_member_status(GROUP_ID, 4002, "administrator")
    member, admin = harness.in_group(4001), harness.in_group(4002)
    offer = await member.reply(f"/start@{BOT_USERNAME} sub_{item.category_id}")
    _, answers = await member.press(offer, "Subscribe")
    assert answers[0]["text"] == "Only the group's administrators can change its subscriptions."
    assert (await subscriptions.following(GROUP_ID)).category_ids == frozenset()
    _, answers = await admin.press(offer, "Subscribe")
    assert answers[0]["text"] == "Following Housing"
    assert (await subscriptions.following(GROUP_ID)).category_ids == {item.category_id}


async def test_start_sub_with_an_unknown_category_is_a_friendly_reply(harness: Harness) -> None:
    await _publish(harness, "Housing co-ops grow", "Housing")
    reader = harness.private()
    for payload in ("sub_999", "sub_abc", "sub_-3", "sub_", "sub_" + "1" * 296):
        reply = await reader.reply(f"/start {payload}")
        assert reply.text.startswith("That category no longer exists."), payload


# -- Share buttons -------------------------------------------------------------------------


async def test_category_lists_offer_a_share_button_per_item(harness: Harness) -> None:
    long_title = "Worker co-operatives across " + "the wide world " * 10 + "are growing"
    await _publish(harness, long_title, "Housing", days=0)
    for n in range(1, 7):
        await _publish(harness, f"Housing story {n}", "Housing", days=n)
    reader = harness.private()
    listing = await reader.reply("/category Housing")
    shares = [b for b in listing.buttons if "switch_inline_query" in b]
    assert [b["switch_inline_query"] for b in shares] == [
        f"Housing story {n}" for n in range(6, 1, -1)
    ]
    assert [b["text"] for b in shares] == [f"↗️ Share: Housing story {n}" for n in range(6, 1, -1)]
    assert listing.buttons[-1]["text"] == "More ›"  # More stays last
    older, _ = await reader.press(listing, "More")
    shares = [b for b in older[0].buttons if "switch_inline_query" in b]
    shared = shares[-1]["switch_inline_query"]
    assert len(shared) <= 64 and long_title.startswith(shared + " ")  # whole words
    assert len(shares[-1]["text"]) <= len("↗️ Share: ") + 40
    # the shared query finds the item again
    answer = await reader.inline(shared)
    assert answer.results[0].title == long_title
