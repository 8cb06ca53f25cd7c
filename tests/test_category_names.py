"""Categories have a name in each language: readers see theirs wherever a category shows,
every command knows a category by any of its names (case and accents ignored), admins name
them with /categories, and the names survive export and import, and other processes' caches.

Conversations run through the emulator, on the sample data (the ILO's categories, which ship
with French and Spanish names), on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from bot import i18n, texts
from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import _alembic_config
from bot.db.models import AuditEntry, Base, Category, CategoryName
from bot.lifecycle import prepare_database
from bot.services.categories import CategoryService, NameRefused, category_key
from bot.services.invalidation import ITEMS, CacheListener
from bot.services.news import Match, NewsService
from bot.services.seed import seed
from bot.services.transfer import TransferService
from bot.services.validation import ItemDraft
from emulator.models import SentMessage
from testbed.databases import scratch_postgres
from testbed.harness import ADMIN_ID, Chatter, Harness
from testbed.harness import test_settings as settings_for

FR, ES = i18n.translator("fr"), i18n.translator("es")
NNBSP = "\u202f"


def _services(harness: Harness):
    return harness.application.bot_data["services"]


async def _seeded(harness: Harness) -> None:
    services = _services(harness)
    await seed(services.news, services.categories)


def _labels(message: SentMessage) -> list[str]:
    return [button["text"] for button in message.buttons]


async def _category_id(harness: Harness, name: str) -> int:
    match = await _services(harness).news.find_category(name)
    assert match.outcome is Match.FOUND and match.category is not None
    return match.category.id


# -- what readers see ------------------------------------------------------------------------


async def test_a_french_chat_sees_french_names_in_keyboards_lists_and_pushes(
    harness: Harness,
) -> None:
    await _seeded(harness)
    reader = harness.private(language_code="fr")
    english = harness.private(language_code="en")
    choose = await reader.reply("/category")
    assert choose.html == FR(texts.CATEGORY_CHOOSE)
    # the French names, in the order a French reader reads them
    assert _labels(choose) == [
        "Actualités (6)",
        "Coopératives (1)",
        "Entretiens avec des coopérateurs (1)",
        "Notre impact, leurs voix (1)",
        "Travail décent (1)",
    ]
    [listing] = (await reader.press(choose, "Travail décent"))[0]
    count = FR.plural(texts.ITEMS, 1)
    assert listing.html.startswith(FR(texts.CATEGORY_HEADER, name="Travail décent", count=count))
    assert "nov. 2017 · Travail décent" in listing.text  # the card names it in French too

    # subscribed by its French name, without its accent; the English reader follows all
    subscribed = await reader.reply("/subscribe travail decent")
    assert subscribed.html == FR(texts.SUBSCRIBED, name="Travail décent")
    await english.reply("/subscribe all")
    mine = await reader.reply("/subscriptions")
    assert FR(texts.SUBSCRIPTIONS_LINE, name="Travail décent") in mine.html

    # an admin files an item under the French name: it goes to "Decent work", no new category
    before = len(await _services(harness).news.categories())
    [done, _shown] = await harness.admin().send(
        "/add Travail décent | Cotton co-ops | https://coop.example/cotton"
    )
    assert done.html == texts.ADD_DONE.format(id=11)
    assert len(await _services(harness).news.categories()) == before
    item = await _services(harness).news.get_item(11)
    assert item is not None and item.category == "Decent work"
    assert item.category_in("fr") == "Travail décent"
    assert item.category_in("es") == "Trabajo decente"
    assert item.category_in("de") == "Decent work"  # no name there: the original

    # each reader's push names the category in the reader's language
    [pushed] = (await harness.emu.wait_for_messages(reader.chat_id, 5, timeout=30))[4:]
    assert "Cotton co-ops" in pushed.text and " · Travail décent" in pushed.text
    english_push = (await harness.emu.wait_for_messages(english.chat_id, 2, timeout=30))[1]
    assert " · Decent work" in english_push.text


async def test_a_spanish_chat_finds_categories_by_spanish_names_and_prefixes(
    harness: Harness,
) -> None:
    await _seeded(harness)
    reader = harness.private(language_code="es")
    subscribed = await reader.reply("/subscribe trabajo decente")
    assert subscribed.html == ES(texts.SUBSCRIBED, name="Trabajo decente")
    keyboard = await reader.reply("/subscribe")
    assert "✅ Trabajo decente" in _labels(keyboard)
    assert "Noticias" in _labels(keyboard)
    unsubscribed = await reader.reply("/unsubscribe TRABAJO DECENTE")
    assert unsubscribed.html == ES(texts.UNSUBSCRIBED, name="Trabajo decente")
    # a prefix of a name in another language is enough, and the answer is in Spanish
    listing = await reader.reply("/category actu")
    assert listing.html.startswith(
        ES(texts.CATEGORY_HEADER, name="Noticias", count=ES.plural(texts.ITEMS, 6))
    )
    # a deep link's offer names it in Spanish too
    news_id = await _category_id(harness, "news")
    offer = await reader.reply(f"/start sub_{news_id}")
    assert offer.html == ES(texts.SUBSCRIBE_LINK_OFFER, name="Noticias")
    assert _labels(offer) == [ES(texts.SUBSCRIBE_LINK_BUTTON, name="Noticias")]
    # a prefix two categories share is still ambiguous
    assert (await _services(harness).news.find_category("n")).outcome is Match.AMBIGUOUS


async def test_find_category_by_any_name_in_any_language(harness: Harness) -> None:
    await _seeded(harness)
    news = _services(harness).news
    for name in ("travail decent", "Travail  Décent", "TRABAJO DECENTE", "decent", "trab"):
        match = await news.find_category(name)
        assert match.outcome is Match.FOUND and match.category is not None, name
        assert match.category.name == "Decent work", name
    # the three names of one category are one candidate, not three
    cooperatives = await news.find_category("coop")
    assert cooperatives.outcome is Match.FOUND and cooperatives.category is not None
    assert cooperatives.category.name == "Cooperatives"
    # an English chat finds it by its French name too, and sees it in English
    reply = await harness.private(language_code="en").reply("/category travail décent")
    assert reply.html.startswith(texts.CATEGORY_HEADER.format(name="Decent work", count="1 item"))


async def test_search_inline_stats_and_digests_name_categories_in_the_readers_language(
    harness: Harness,
) -> None:
    await _seeded(harness)
    reader = harness.private(language_code="fr")
    found = await reader.reply("/search cotton")
    assert "· Travail décent" in found.text
    answer = await reader.inline("cotton")
    assert answer.results and "· Travail décent" in answer.results[0].raw["description"]
    assert "· Travail décent" in (answer.results[0].text or "")

    stats = await harness.admin(language_code="es").reply("/stats")
    assert ES(texts.STATS_LINE, name="Noticias", count="6") in stats.html
    assert ES(texts.STATS_LINE, name="Trabajo decente", count="1") in stats.html

    services = _services(harness)
    await reader.reply("/subscribe all")
    oldest = (await services.news.page(20)).items[-1].published_at
    since, until = oldest.replace(year=2000), oldest.replace(year=2030)
    content = await services.digests.content(reader.chat_id, since, until)
    # each group under its French name, in French name order
    assert [name for name, _items in content.groups] == [
        "Actualités",
        "Coopératives",
        "Entretiens avec des coopérateurs",
        "Notre impact, leurs voix",
        "Travail décent",
    ]


# -- /categories -------------------------------------------------------------------------------


async def test_admins_list_and_name_categories(harness: Harness) -> None:
    await _seeded(harness)
    admin = harness.admin()
    [listing] = await admin.send("/categories")
    assert listing.html.startswith(texts.CATEGORIES_HEADER)
    assert "<b>Decent work</b> (1)\n• en: —\n• fr: Travail décent\n• es: Trabajo decente" in (
        listing.html
    )
    assert listing.html.endswith(texts.CATEGORIES_USAGE)

    # a new name in Spanish: readers there see it at once, the old one is no longer known
    renamed = await admin.reply("/categories name decent es Trabajo digno")
    assert renamed.html == texts.CATEGORIES_RENAMED.format(
        category="Decent work", name="Trabajo digno", language="Spanish", before="Trabajo decente"
    )
    spanish = harness.private(language_code="es")
    choose = await spanish.reply("/category")
    assert "Trabajo digno (1)" in _labels(choose)
    assert (await _services(harness).news.find_category("trabajo decente")).outcome is (
        Match.UNKNOWN
    )
    # an English name, given by the category's French name and with bars
    named = await admin.reply("/categories name Actualités | en | Co-op news")
    assert named.html == texts.CATEGORIES_NAMED.format(
        category="News", name="Co-op news", language="English"
    )
    english = await harness.private(language_code="en").reply("/category")
    assert "Co-op news (6)" in _labels(english)

    # the admin's language words the answer, and the language's name
    french_admin = harness.admin(language_code="fr")
    again = await french_admin.reply("/categories name travail decent es Trabajo decente")
    assert again.html == FR(
        texts.CATEGORIES_RENAMED,
        category="Decent work",
        name="Trabajo decente",
        language="espagnol",
        before="Trabajo digno",
    )
    async with _services(harness).news._sessions() as session:
        audit = list(
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "category_name")
            )
        )
    assert audit == [
        "Decent work [es]: 'Trabajo decente' -> 'Trabajo digno'",
        "News [en]: None -> 'Co-op news'",
        "Decent work [es]: 'Trabajo digno' -> 'Trabajo decente'",
    ]


async def test_a_category_name_with_a_language_word_in_it(harness: Harness) -> None:
    admin = harness.admin()
    await admin.send("/add Mujeres en cooperativas | Una | https://coop.example/una")
    await admin.send("/add Mujeres | Otra | https://coop.example/otra")
    # "en" could end the category after "Mujeres"; the category named by all the words wins
    named = await admin.reply("/categories name Mujeres en cooperativas en Women in co-ops")
    assert named.html == texts.CATEGORIES_NAMED.format(
        category="Mujeres en cooperativas", name="Women in co-ops", language="English"
    )


async def test_names_that_are_refused_change_nothing(harness: Harness) -> None:
    await _seeded(harness)
    admin = harness.admin()
    services = _services(harness)
    before = await services.news.categories()

    taken = await admin.reply("/categories name news fr Travail décent")
    assert taken.html == texts.CATEGORIES_NAME_TAKEN.format(
        name="Travail décent", other="Decent work"
    )
    # another category's original name counts too, whatever its case and accents
    taken = await admin.reply("/categories name news es DÉCENT WORK")
    assert taken.html == texts.CATEGORIES_NAME_TAKEN.format(name="DÉCENT WORK", other="Decent work")
    bad = await admin.reply("/categories name news de Nachrichten")
    assert bad.html == texts.CATEGORIES_BAD_LANGUAGE.format(code="de", languages="en, fr, es")
    missing = await admin.reply("/categories name news fr")
    assert missing.html == texts.CATEGORIES_NAME_MISSING
    long = "x" * 65
    too_long = await admin.reply(f"/categories name news fr {long}")
    assert too_long.html == texts.CATEGORY_NAME_TOO_LONG.format(max=64)
    unknown = await admin.reply("/categories name housing fr Logement")
    assert unknown.html == texts.CATEGORIES_UNKNOWN.format(name="housing")
    ambiguous = await admin.reply("/categories name n fr Nouvelles")
    # "n": News (and Noticias), Notre impact (and Nuestro impacto), in the admin's English
    assert ambiguous.html == texts.CATEGORIES_AMBIGUOUS.format(
        name="n", names="News, Our impact, Their voices"
    )
    assert (await admin.reply("/categories rename news")).html == texts.CATEGORIES_USAGE
    assert (await admin.reply("/categories name news")).html == texts.CATEGORIES_USAGE
    assert (await admin.reply("/categories name | fr | x")).html == texts.CATEGORIES_USAGE
    assert await services.news.categories() == before

    # the service refuses the same way, whoever calls it
    news_id = await _category_id(harness, "news")
    with pytest.raises(NameRefused):
        await services.categories.set_name(news_id, "pt", "Notícias", actor_id=ADMIN_ID)
    with pytest.raises(LookupError):
        await services.categories.set_name(999, "fr", "Rien", actor_id=ADMIN_ID)


async def test_only_admins_name_categories(harness: Harness) -> None:
    await _seeded(harness)
    reader: Chatter = harness.private()
    assert (await reader.reply("/categories")).html == texts.NOT_ADMIN
    refused = await reader.reply("/categories name news fr Nouvelles")
    assert refused.html == texts.NOT_ADMIN
    news = await _services(harness).news.get_category(await _category_id(harness, "news"))
    assert news is not None and news.name_in("fr") == "Actualités"
    group = harness.in_group(4242)
    assert (await group.reply("/categories")).html == texts.NOT_ADMIN


async def test_admins_name_a_category_with_buttons(harness: Harness) -> None:
    await _seeded(harness)
    admin = harness.admin()
    [listing] = await admin.send("/categories")
    assert _labels(listing)[:2] == ["✏️ Cooperatives", "✏️ Decent work"]
    [ask_language], answers = await admin.press(listing, "✏️ Decent work")
    assert [a["text"] for a in answers] == [None]
    assert ask_language.html == texts.CATEGORIES_ASK_LANGUAGE.format(name="Decent work")
    assert _labels(ask_language) == [
        "English",
        "Français · Travail décent",
        "Español · Trabajo decente",
    ]
    [ask_name], _answers = await admin.press(ask_language, "Français")
    assert ask_name.html == texts.CATEGORIES_ASK_NAME_NOW.format(
        category="Decent work", language="French", now="Travail décent"
    )
    assert harness.emu.bot_message(admin.chat_id, ask_language.message_id).buttons == []

    # a name another category has is refused, and asked again; the next one is taken
    refused = await admin.reply("Actualités")
    assert refused.html == (
        texts.CATEGORIES_NAME_TAKEN.format(name="Actualités", other="News")
        + "\n\n"
        + texts.CATEGORIES_ASK_AGAIN
    )
    done = await admin.reply("Travail digne")
    assert done.html == texts.CATEGORIES_RENAMED.format(
        category="Decent work", name="Travail digne", language="French", before="Travail décent"
    )
    assert (await _services(harness).news.find_category("travail digne")).outcome is Match.FOUND
    assert (await admin.reply("Encore")).html == texts.PLAIN_TEXT_HINT  # the flow is over

    # a language it has no name in yet; /cancel leaves without changing anything
    [ask_language] = (await admin.press(listing, "✏️ News"))[0]
    [ask_name] = (await admin.press(ask_language, "English"))[0]
    assert ask_name.html == texts.CATEGORIES_ASK_NAME.format(category="News", language="English")
    assert (await admin.reply("/cancel")).html == texts.CATEGORIES_CANCELLED
    news = await _services(harness).news.get_category(await _category_id(harness, "news"))
    assert news is not None and news.name_in("en") == "News"


async def test_category_buttons_only_for_admins_and_only_in_private(harness: Harness) -> None:
    await _seeded(harness)
    in_group = harness.in_group(ADMIN_ID)
    [listing] = await in_group.send("/categories")
    assert listing.html.startswith(texts.CATEGORIES_HEADER) and listing.buttons == []
    reader = harness.private()
    latest = (await reader.send("/latest"))[0]
    news_id = await _category_id(harness, "news")
    for data in (f"v1:catn:{news_id}", f"v1:catn:{news_id}:fr"):
        sent, answers = await reader.press(latest, data=data)
        assert sent == [] and [a["text"] for a in answers] == [texts.NOT_ADMIN]
    admin = harness.admin()
    [first] = await admin.send("/latest")
    for data in (f"v1:catn:{news_id}:de", "v1:catn:999:fr", "v1:catn:x"):
        sent, answers = await admin.press(first, data=data)
        assert sent == [] and [a["text"] for a in answers] == [texts.BUTTON_EXPIRED], data
    assert (await admin.reply("Plain")).html == texts.PLAIN_TEXT_HINT  # no draft was started


# -- the store -------------------------------------------------------------------------------


async def test_export_and_import_carry_the_names(database_url: str, tmp_path: Path) -> None:
    await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions)
    categories = CategoryService(sessions, news)
    try:
        await seed(news, categories)
        found = (await news.find_category("news")).category
        assert found is not None
        news_id = found.id
        await categories.set_name(news_id, "en", "Co-op news", actor_id=ADMIN_ID)
        exported = tmp_path / "export.json"
        with exported.open("w", encoding="utf-8") as out:
            assert await TransferService(sessions, news).export_items(out) == 10
        rows = json.loads(exported.read_text(encoding="utf-8"))
        news_row = next(row for row in rows if row["category"] == "News")
        assert news_row["category_names"] == {
            "en": "Co-op news",
            "es": "Noticias",
            "fr": "Actualités",
        }
        async with sessions.begin() as session:  # a fresh store, on the same database
            for table in ("deliveries", "broadcast_queue", "items", "category_names"):
                await session.execute(text(f"DELETE FROM {table}"))
            await session.execute(text("DELETE FROM categories"))
        news.invalidate()
        report = await TransferService(sessions, news).import_items(exported)
        assert (report.added, report.problems) == (10, ())
        by_name = {c.name: dict(c.names) for c in await news.categories()}
        assert by_name["News"] == {"en": "Co-op news", "es": "Noticias", "fr": "Actualités"}
        assert by_name["Decent work"] == {"es": "Trabajo decente", "fr": "Travail décent"}
    finally:
        await engine.dispose()


async def test_import_fills_names_never_renames_and_reports_bad_ones(
    database_url: str, tmp_path: Path
) -> None:
    await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions)
    try:
        path = tmp_path / "items.csv"
        names = json.dumps({"fr": "Travail décent", "es": "Trabajo decente"}).replace('"', '""')
        path.write_text(
            "category,title,url,category_names\n"
            f'Decent work,One,https://e.org/1,"{names}"\n'
            'Travail décent,Two,https://e.org/2,"{""fr"": ""Autre nom""}"\n'
            'News,Three,https://e.org/3,"{""de"": ""Nachrichten""}"\n'
            'News,Four,https://e.org/4,"{""fr"": ""Travail décent""}"\n'
            "News,Five,https://e.org/5,not json\n",
            encoding="utf-8",
        )
        report = await TransferService(sessions, news).import_items(path)
        assert report.added == 3  # One, Two (filed under Decent work by its French name), Four
        assert [(p.line, p.problem) for p in report.problems] == [
            (4, "bad_category_names"),
            (5, "category_name_taken"),
            (6, "bad_category_names"),
        ]
        by_name = {c.name: (c.item_count, dict(c.names)) for c in await news.categories()}
        assert by_name == {
            "Decent work": (2, {"es": "Trabajo decente", "fr": "Travail décent"}),
            "News": (1, {}),
        }
    finally:
        await engine.dispose()


async def test_names_are_one_per_category_and_language(sessions, news) -> None:
    categories = CategoryService(sessions, news)
    for name in ("Agriculture", "Housing"):
        await news.publish(ItemDraft(name, "t", None, None), source="test", broadcast=False)
    [agriculture, housing] = await news.categories()
    # one category may carry one name in two languages
    await categories.set_name(agriculture.id, "fr", "Agriculture", actor_id=ADMIN_ID)
    await categories.set_name(agriculture.id, "en", "agriculture", actor_id=ADMIN_ID)
    await categories.set_name(housing.id, "es", "Agricultura", actor_id=ADMIN_ID)  # not alike
    with pytest.raises(NameRefused):
        await categories.set_name(housing.id, "fr", "AGRICULTURE", actor_id=ADMIN_ID)
    async with sessions() as session:
        rows = (await session.execute(select(CategoryName.category_id, CategoryName.name))).all()
        stored = await session.get(Category, agriculture.id)
        assert stored is not None and stored.names == {"en": "agriculture", "fr": "Agriculture"}
    assert sorted(rows) == [
        (agriculture.id, "Agriculture"),
        (agriculture.id, "agriculture"),
        (housing.id, "Agricultura"),
    ]
    # a category that goes takes its names along
    async with sessions.begin() as session:
        await session.execute(text("DELETE FROM items"))
        await session.execute(text(f"DELETE FROM categories WHERE id = {agriculture.id}"))
    async with sessions() as session:
        left = (await session.execute(select(CategoryName.name))).scalars().all()
    assert left == ["Agricultura"]


# SQLite cannot reflect an index on an expression (subscriptions'): alembic says so, and skips it
@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_the_migration_folds_the_keys_stored_before(database_url: str) -> None:
    """Categories stored before 0012 keep their rows; their keys now ignore accents, and two
    that differed only by accents both stay, apart."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0011"))
        async with engine.begin() as connection:
            for number, (name, key) in enumerate(
                [
                    ("Économie sociale", "économie sociale"),
                    ("Decent work", "decent work"),
                    ("Coopératives", "coopératives"),
                    ("cooperatives", "cooperatives"),
                ],
                start=1,
            ):
                await connection.execute(
                    text(
                        "INSERT INTO categories (id, name, name_key, item_count, created_at) "
                        "VALUES (:id, :name, :key, 0, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "name": name, "key": key},
                )
        await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
        async with engine.connect() as connection:
            keys = dict(
                (await connection.execute(text("SELECT name, name_key FROM categories"))).all()
            )
            # the models and the migrated tables agree (columns, types, keys, indexes)
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert keys == {
            "Économie sociale": "economie sociale",
            "Decent work": "decent work",
            "cooperatives": "cooperatives",  # already accent-free: it keeps its key
            "Coopératives": "coopératives",  # would collide: it keeps its own
        }
        ours = [d for d in differences if "categor" in repr(d)]
        assert ours == []
        sessions = create_session_factory(engine)
        news = NewsService(sessions)
        found = await news.find_category("economie")
        assert found.outcome is Match.FOUND and found.category is not None
        assert found.category.name == "Économie sociale"
        assert category_key("Économie  Sociale") == "economie sociale"
    finally:
        await engine.dispose()


# -- other processes ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _process(url: str) -> AsyncIterator[tuple[NewsService, CategoryService, CacheListener]]:
    """One bot process's news and categories, caching for a minute, listening for changes."""
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    news = NewsService(sessions, cache_seconds=60)

    class _NoChats:
        def forget_cached(self, chat_id: int) -> None: ...
        def set_caching(self, on: bool) -> None: ...

    listener = CacheListener(engine, news, _NoChats())
    listener.start()
    try:
        await asyncio.wait_for(listener.until(lambda: listener.connections == 1), 10)
        yield news, CategoryService(sessions, news), listener
    finally:
        await listener.stop()
        await engine.dispose()


async def test_a_name_set_in_one_process_shows_in_the_others() -> None:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        pytest.skip("TEST_DATABASE_URL is not set")
    async with scratch_postgres(raw, "coopbot_names") as url:
        await prepare_database(settings_for(url, "http://127.0.0.1:9/bot"))
        async with _process(url) as (a, a_names, _), _process(url) as (b, _b_names, listener):
            await a.publish(ItemDraft("News", "One", None, None), source="test")
            [news] = await b.categories()  # cached in b for a minute
            assert news.name_in("fr") == "News"
            before = listener.heard[ITEMS]
            await a_names.set_name(news.id, "fr", "Actualités", actor_id=ADMIN_ID)
            await asyncio.wait_for(listener.until(lambda: listener.heard[ITEMS] > before), 5)
            [named] = await b.categories()
            assert named.name_in("fr") == "Actualités"
            assert (await b.find_category("actualites")).outcome is Match.FOUND
            page = await b.page(5)
            assert page.items[0].category_in("fr") == "Actualités"
