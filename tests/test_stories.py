"""One story in several languages: each reader gets one message, in their best version.

The rule (`bot.services.stories`) is written in Python, in SQL for listings and as a CASE in
the fan-out; the first tests hold all three to the same table of readers. The others talk to
the bot through the emulator: /translate (one line and guided, of published and scheduled
items), who gets what when, listings, search, deep links, digests, corrections of one version,
and the bad inputs.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot import i18n, texts
from bot.db.models import BroadcastQueue, Chat, Delivery
from bot.render import delivered_item
from bot.services.stories import Reader, Version, best_version
from bot.services.validation import ItemDraft
from bot.services.views import ItemView
from emulator.models import SentMessage
from testbed.delivery_kit import add_subscribers, drain, sessions
from testbed.harness import ADMIN_ID, Chatter, Harness, bot_harness

FR, ES = i18n.translator("fr"), i18n.translator("es")


def _services(harness: Harness):
    return harness.application.bot_data["services"]


def _draft(title: str, language: str, n: int, category: str = "News") -> ItemDraft:
    return ItemDraft(
        category, title, f"https://coop.example/{language}/{n}", f"{title} summary.", language
    )


async def _story(harness: Harness, n: int = 1, *, broadcast: bool = False) -> list[ItemView]:
    """An English original with French and Spanish versions (no broadcast unless asked)."""
    news = _services(harness).news
    original = (
        await news.publish(_draft(f"Story {n}", "en", n), source="test", broadcast=broadcast)
    ).item
    versions = [original]
    for language, title in (("fr", f"Histoire {n}"), ("es", f"Historia {n}")):
        published = await news.publish(
            _draft(title, language, n), source="test", broadcast=broadcast, version_of=original.id
        )
        versions.append(published.item)
    return versions


# -- the rule, three ways ----------------------------------------------------------------------

NEWS_CHOICES: list[frozenset[str] | None] = [
    None,
    frozenset({"en"}),
    frozenset({"fr"}),
    frozenset({"es"}),
    frozenset({"fr", "es"}),
    frozenset({"en", "es"}),
    frozenset({"other"}),
]
READERS = [
    Reader(language, news)
    for language, news in itertools.product([None, "en", "fr", "es"], NEWS_CHOICES)
]


def test_the_rule_in_python() -> None:
    story = [Version(1, "en", True), Version(2, "fr", False), Version(3, "es", False)]
    assert best_version(story, Reader("fr")) == 2  # 1. their interface language
    assert best_version(story, Reader("fr", frozenset({"en", "es"}))) == 1  # 2. the original
    assert best_version(story, Reader("en", frozenset({"fr", "es"}))) == 2  # 3. the oldest other
    assert best_version(story, Reader("en", frozenset({"other"}))) is None  # 4. none
    assert best_version([Version(5, "pt", True)], Reader("en", frozenset({"other"}))) == 5


async def test_listings_give_each_reader_the_rules_version(harness: Harness) -> None:
    news = _services(harness).news
    stories = [await _story(harness, n) for n in (1, 2)]
    # a story whose original is French, with an English version; and a lone Portuguese item
    french = (await news.publish(_draft("Seulement", "fr", 3), source="test")).item
    english = (
        await news.publish(_draft("Only", "en", 3), source="test", version_of=french.id)
    ).item
    alone = (await news.publish(_draft("Sozinho", "pt", 4), source="test")).item
    groups = [*stories, [french, english], [alone]]
    for reader in READERS:
        expected = []
        for group in reversed(groups):  # newest first
            chosen = best_version(
                [Version(v.id, v.language, v.story_id is None) for v in group], reader
            )
            if chosen is not None:
                expected.append(chosen)
        page = await news.page(10, reader=reader)
        assert [item.id for item in page.items] == expected, reader
        # a category counts each story once, whichever version is the reader's
        [category] = await news.categories(reader=reader)
        assert category.item_count == len(expected), reader


async def test_the_fan_out_gives_each_chat_the_rules_version_once(database_url: str) -> None:
    async with bot_harness(database_url, delivery_poll_seconds=3600) as harness:
        services = _services(harness)
        combos = list(itertools.product(["en", "fr", "es"], NEWS_CHOICES))
        chat_ids = list(range(10_001, 10_001 + len(combos)))
        await add_subscribers(sessions(harness), chat_ids)
        async with sessions(harness).begin() as session:
            for chat_id, (language, news) in zip(chat_ids, combos, strict=True):
                await session.execute(
                    update(Chat)
                    .where(Chat.id == chat_id)
                    .values(language=language, news_languages=i18n.encode_news_choices(news))
                )
        # scheduled together: the original's broadcast finds all three versions
        original = (
            await services.news.publish(_draft("Story", "en", 1), source="test", broadcast=False)
        ).item
        await services.news.publish(
            _draft("Histoire", "fr", 1), source="test", broadcast=False, version_of=original.id
        )
        await services.news.publish(
            _draft("Historia", "es", 1), source="test", broadcast=False, version_of=original.id
        )
        versions = await services.stories.versions(original.id)
        # queued as the scheduler queues a story: the original's broadcast, once all are in
        async with sessions(harness).begin() as session:
            session.add(BroadcastQueue(item_id=original.id))
        await services.delivery.store.fanout.expand()
        async with sessions(harness)() as session:
            rows = (await session.execute(select(Delivery.chat_id, Delivery.item_id))).all()
        got = {chat_id: item_id for chat_id, item_id in rows}
        assert len(rows) == len(got)  # one row per chat
        expected = {}
        for chat_id, (language, news) in zip(chat_ids, combos, strict=True):
            chosen = best_version(
                [Version(v.id, v.language, v.original) for v in versions], Reader(language, news)
            )
            if chosen is not None:
                expected[chat_id] = chosen
        assert got == expected


# -- through the bot --------------------------------------------------------------------------


async def _reader(harness: Harness, language: str, news: str | None = None) -> Chatter:
    reader = harness.private(first_name=language, language_code=language)
    await reader.reply("/subscribe all")
    if news is not None:  # "News in" only this language
        await _services(harness).chats.choose_news(reader.chat_id, frozenset({news}))
    return reader


async def _pushes(harness: Harness, reader: Chatter, before: int) -> list[SentMessage]:
    return harness.emu.messages(reader.chat_id)[before:]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Harness]:
    async with bot_harness(database_url) as harness:
        yield harness


async def test_a_scheduled_story_in_three_versions_reaches_each_reader_once(
    bot: Harness,
) -> None:
    harness = bot
    clock_now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    scheduling = _services(harness).scheduling
    scheduling.now = lambda: clock_now
    readers = {language: await _reader(harness, language) for language in ("en", "fr", "es")}
    before = {language: harness.message_count(r.chat_id) for language, r in readers.items()}
    admin = harness.admin()
    await admin.send("/add")
    await admin.send("Co-ops at the summit")
    await admin.send("News")
    await admin.send("https://coop.example/en/summit")
    [ask_photo] = await admin.send("Delegates met.")
    [_intro, preview] = (await admin.press(ask_photo, texts.BUTTON_SKIP))[0]
    await admin.press(preview, texts.BUTTON_SCHEDULE)
    done = await admin.reply("2030-01-10 14:00")
    assert texts.SCHEDULED_VERSIONS_HINT.format(ref="s1") in done.html
    # one line for French, the guided way for Spanish
    french = await admin.reply(
        "/translate s1 fr | Les coopératives au sommet | https://coop.example/fr/summit"
    )
    assert french.html.startswith(texts.TRANSLATE_SCHEDULED_DONE.split("{")[0])
    ask_title = await admin.reply("/translate s1 es")
    assert ask_title.html == texts.TRANSLATE_ASK_TITLE.format(
        language="Spanish", ref="s1", title="Co-ops at the summit"
    )
    await admin.send("Las cooperativas en la cumbre")
    await admin.send("https://coop.example/es/summit")
    intro, preview = await admin.send("Se reunieron delegados.")
    assert intro.html == texts.TRANSLATE_PREVIEW.format(language="Spanish", ref="s1")
    assert [b["text"] for b in preview.buttons] == [
        texts.BUTTON_PUBLISH,
        texts.BUTTON_EDIT,
        texts.BUTTON_CANCEL,
    ]
    [spanish_done] = (await admin.press(preview, texts.BUTTON_PUBLISH))[0]
    assert spanish_done.html.startswith(texts.TRANSLATE_SCHEDULED_DONE.split("{")[0])
    # a second French version of the same scheduled item is refused
    again = await admin.reply("/translate s1 fr | Encore | https://coop.example/fr/again")
    assert again.html == texts.TRANSLATE_SCHEDULED_TAKEN.format(ref="s1", language="French")
    assert await _services(harness).news.count_items() == 0

    clock_now = datetime(2030, 1, 10, 14, 0, tzinfo=UTC)  # the bot's zone is UTC
    scheduling.now = lambda: clock_now
    await scheduling.publish_due()
    await drain(harness)
    titles = {
        "en": "Co-ops at the summit",
        "fr": "Les coopératives au sommet",
        "es": "Las cooperativas en la cumbre",
    }
    for language, reader in readers.items():
        got = await _pushes(harness, reader, before[language])
        assert [m.text.split("\n")[0] for m in got] == [titles[language]], language
    assert await _services(harness).scheduling.pending() == []
    versions = await _services(harness).stories.versions(1)
    assert [(v.language, v.original) for v in versions] == [
        ("en", True),
        ("fr", False),
        ("es", False),
    ]


async def test_a_version_added_later_goes_only_to_chats_without_the_story(bot: Harness) -> None:
    harness = bot
    english_reader = await _reader(harness, "en")
    french_only = await _reader(harness, "fr", news="fr")
    french_reads_all = await _reader(harness, "fr")
    readers = [english_reader, french_only, french_reads_all]
    admin = harness.admin()
    await admin.send("/add News | Housing co-ops grow | https://coop.example/en/housing")
    await drain(harness)
    counts = {r.chat_id: harness.message_count(r.chat_id) for r in readers}
    assert harness.emu.messages(english_reader.chat_id)[-1].text.startswith("Housing co-ops")
    assert harness.emu.messages(french_reads_all.chat_id)[-1].text.startswith("Housing co-ops")

    done = await admin.reply(
        "/translate 1 fr | Les coopératives d’habitation progressent "
        "| https://coop.example/fr/housing | Un résumé | avec une barre"
    )
    assert done.html.startswith(
        texts.TRANSLATE_DONE.format(id=2, language="French", original=1) + "\n\n"
    )
    await drain(harness)
    got = {r.chat_id: harness.message_count(r.chat_id) - counts[r.chat_id] for r in readers}
    # only the French-only chat lacked the story; the others never get it twice
    assert got == {english_reader.chat_id: 0, french_only.chat_id: 1, french_reads_all.chat_id: 0}
    pushed = harness.emu.messages(french_only.chat_id)[-1]
    item = await _services(harness).news.get_item(2)
    assert item.summary == "Un résumé | avec une barre"
    assert pushed.html == delivered_item(item, harness.settings.tz, FR)

    await admin.reply("/translate 1 es | Las cooperativas de vivienda | https://coop.example/es/h")
    await drain(harness)
    assert all(
        harness.message_count(r.chat_id) == counts[r.chat_id] + got[r.chat_id] for r in readers
    )
    async with sessions(harness)() as session:
        rows = (await session.execute(select(Delivery.chat_id, Delivery.item_id))).all()
    assert sorted(rows) == sorted(
        [(english_reader.chat_id, 1), (french_reads_all.chat_id, 1), (french_only.chat_id, 2)]
    )


async def test_listings_search_and_links_show_one_entry_in_the_readers_version(
    bot: Harness,
) -> None:
    harness = bot
    await _story(harness, 1)
    await _services(harness).news.publish(_draft("Another item", "en", 9), source="test")
    french = harness.private(language_code="fr")
    english = harness.private(language_code="en")

    latest = await french.reply("/latest")
    assert "Histoire 1" in latest.text and "Story 1" not in latest.text
    assert latest.text.count("Historia 1") == 0
    assert "Story 1" in (await english.reply("/latest")).text
    # a match in any version finds the story, shown in the reader's version
    found = await french.reply("/search story")
    assert "Histoire 1" in found.text and "Story 1" not in found.text
    found = await english.reply("/search historia")
    assert "Story 1" in found.text and "Historia" not in found.text
    # a link to any version opens the reader's own
    opened = await french.reply("/start item_3")
    assert opened.text.startswith("Histoire 1")
    # inline mode: one result per story
    answer = await english.inline("")
    titles = [r.raw["title"] for r in answer.results]
    assert titles.count("Story 1") == 1 and "Histoire 1" not in titles
    # a French-only reader whose search word is only in the English version
    await _services(harness).chats.choose_news(french.chat_id, frozenset({"fr"}))
    found = await french.reply("/search story")
    assert "Histoire 1" in found.text


async def test_digests_carry_one_version_per_story(bot: Harness) -> None:
    harness = bot
    await _story(harness, 1)
    reader = harness.private(language_code="es")
    digests = _services(harness).digests
    content = await digests.content(
        reader.chat_id,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    )
    assert content.count == 0  # not subscribed
    await reader.reply("/subscribe all")
    content = await digests.content(
        reader.chat_id, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert [item.title for _name, items in content.groups for item in items] == ["Historia 1"]


async def test_correcting_a_version_corrects_only_its_messages(bot: Harness) -> None:
    harness = bot
    english = await _reader(harness, "en", news="en")
    french = await _reader(harness, "fr", news="fr")
    admin = harness.admin()
    await admin.send("/add News | Original title | https://coop.example/en/o")
    await admin.send("/translate 1 fr | Titre d’origine | https://coop.example/fr/o")
    await drain(harness)
    english_message = harness.emu.messages(english.chat_id)[-1]
    french_message = harness.emu.messages(french.chat_id)[-1]
    assert french_message.text.startswith("Titre d’origine")
    await _services(harness).corrections.edit(ADMIN_ID, 2, "title", "Titre corrigé")
    await _services(harness).delivery.corrections_runner.settled()
    await harness.emu.wait_idle(quiet=0.05, timeout=10)
    assert harness.emu.bot_message(french.chat_id, french_message.message_id).text.startswith(
        "Titre corrigé"
    )
    assert harness.emu.bot_message(english.chat_id, english_message.message_id).text.startswith(
        "Original title"
    )
    # the admin's item pages and lists show the story's versions
    versions = texts.ITEM_VERSIONS.format(versions="#1 English (original), #2 French")
    assert versions in (await admin.reply("/edit")).html
    shown = await admin.reply("/delete 1")
    assert texts.ITEM_VERSIONS.format(versions="#1 English (original), #2 French") in shown.html


async def test_bad_translate_requests_change_nothing(bot: Harness) -> None:
    harness = bot
    admin = harness.admin()
    await admin.send("/add News | Original | https://coop.example/en/1")
    await admin.send("/add News | Gone | https://coop.example/en/2")
    await _services(harness).corrections.delete(ADMIN_ID, 2)
    usage = await admin.reply("/translate")
    assert usage.html == texts.TRANSLATE_USAGE
    assert (await admin.reply("/translate 99 fr | T | https://x.example/a")).html == (
        texts.TRANSLATE_UNKNOWN.format(id=99)
    )
    assert (await admin.reply("/translate 2 fr | T | https://x.example/b")).html == (
        texts.TRANSLATE_UNKNOWN.format(id=2)
    )
    assert (await admin.reply("/translate abc fr")).html == texts.TRANSLATE_BAD_NUMBER.format(
        text="abc"
    )
    bad_language = await admin.reply("/translate 1 french | T | https://x.example/c")
    assert bad_language.html.startswith(texts.ADD_PROBLEM.split("{")[0])
    # the story's own language, then a version's
    assert (await admin.reply("/translate 1 en | T | https://x.example/d")).html == (
        texts.TRANSLATE_TAKEN.format(language="English", id=1)
    )
    await admin.send("/translate 1 fr | Titre | https://x.example/fr")
    assert (await admin.reply("/translate 3 fr | Autre | https://x.example/fr2")).html == (
        texts.TRANSLATE_TAKEN.format(language="French", id=3)
    )
    # a link already stored
    taken = await admin.reply("/translate 1 es | Título | https://coop.example/en/1")
    assert taken.html == texts.ADD_DUPLICATE.format(id=1)
    # not an admin
    stranger = harness.private()
    assert (await stranger.reply("/translate 1 es | Título | https://x.example/es")).html == (
        texts.NOT_ADMIN
    )
    # the guided way outside a private chat
    group = harness.in_group(ADMIN_ID)
    assert (await group.reply("/translate 1 es")).html == texts.FLOW_PRIVATE_ONLY.format(
        command="translate"
    )
    assert [v.id for v in await _services(harness).stories.versions(1)] == [1, 3]
    # a forged button in the guided flow: a version's category cannot be changed
    await admin.reply("/translate 1 es")
    await admin.send("Título")
    await admin.send("https://x.example/es/1")
    _intro, preview = await admin.send("Resumen.")
    sent, answers = await admin.press(preview, data="add:f:category")
    assert sent == [] and [a["text"] for a in answers] == [texts.BUTTON_EXPIRED]
    assert [v.id for v in await _services(harness).stories.versions(1)] == [1, 3]


async def test_a_story_keeps_one_category_and_counts_once(bot: Harness) -> None:
    harness = bot
    services = _services(harness)
    english, french, spanish = await _story(harness, 1)
    await services.corrections.edit(ADMIN_ID, french.id, "category", "Decent work")
    for version in (english, french, spanish):
        moved = await services.news.get_item(version.id)
        assert moved is not None and moved.category == "Decent work"
    counts = {c.name: c.item_count for c in await services.news.categories()}
    assert counts == {"News": 0, "Decent work": 1}
    # withdrawing a version leaves the story, and its count, in place
    await services.corrections.delete(ADMIN_ID, spanish.id)
    counts = {c.name: c.item_count for c in await services.news.categories()}
    assert counts == {"News": 0, "Decent work": 1}
    spanish_reader = Reader("es")
    page = await services.news.page(10, reader=spanish_reader)
    assert [item.id for item in page.items] == [english.id]  # the original, now
