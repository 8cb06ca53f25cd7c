"""The bot speaks each chat's language: English, French or Spanish.

The same conversation runs in each language through the emulator, with the texts worked out
from the catalogues by the same `Translator` the bot uses; separately, the catalogues are
checked against hand-written French and Spanish (plurals, dates), so a text the bot sends in
English where French was due fails here.
"""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import i18n, texts
from bot.render import delivered_item
from bot.services.views import ItemView
from emulator.models import SentMessage
from handlers.common import help_text
from testbed.cli_runner import run_coopbot
from testbed.harness import ADMIN_ID, BOT_USERNAME, GROUP_ID, Chatter, Harness, bot_harness

# what each language's readers have in their Telegram app, as Telegram sends it
APP_CODES = {"en": "en", "fr": "fr-CA", "es": "es-419"}
LANGUAGES = list(APP_CODES)


def _services(harness: Harness):
    return harness.application.bot_data["services"]


async def _press(chat: Chatter, message: SentMessage, label: str) -> list[SentMessage]:
    sent, answers = await chat.press(message, label)
    assert [a["text"] for a in answers] == [None], answers
    return sent


async def _item(harness: Harness, item_id: int) -> ItemView:
    item = await _services(harness).news.get_item(item_id)
    assert item is not None
    return item


# -- the negotiation and the catalogues, without a bot --------------------------------------


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR_be", "fr"),
        ("es", "es"),
        ("es-419", "es"),
        ("en-GB", "en"),
        ("de", "en"),
        ("pt-BR", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_app_language_picks_the_interface(code: str | None, language: str) -> None:
    assert i18n.negotiate(code) == language


@pytest.mark.parametrize(
    ("language", "items", "entries"),
    [
        ("en", ["0 items", "1 item", "2 items", "5 items"], ["0 entries", "1 entry"]),
        ("fr", ["0 article", "1 article", "2 articles", "5 articles"], ["0 entrée", "1 entrée"]),
        (
            "es",
            ["0 noticias", "1 noticia", "2 noticias", "5 noticias"],
            ["0 entradas", "1 entrada"],
        ),
    ],
)
def test_plurals_follow_each_language_rules(
    language: str, items: list[str], entries: list[str]
) -> None:
    tr = i18n.translator(language)
    assert [tr.plural(texts.ITEMS, n) for n in (0, 1, 2, 5)] == items
    assert [tr.plural(texts.FEED_ENTRIES, n) for n in (0, 1)] == entries
    # numbers are written the local way too
    big = {"en": "12,345 items", "fr": "12\u202f345 articles", "es": "12.345 noticias"}
    assert tr.plural(texts.ITEMS, 12_345) == big[language]


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "29 Nov 2017"), ("fr", "29 nov. 2017"), ("es", "29 nov 2017")],
)
def test_dates_read_the_local_way_in_the_bots_zone(language: str, shown: str) -> None:
    moment = datetime(2017, 11, 28, 23, 30, tzinfo=UTC)  # already the 29th in Tokyo
    tr = i18n.translator(language)
    assert tr.date(moment, ZoneInfo("Asia/Tokyo")) == shown
    assert tr.date(moment, UTC).startswith("28 ")


def test_an_unknown_language_gets_english() -> None:
    assert i18n.translator("de").language == "en"
    assert i18n.translator("de")(texts.NO_ITEMS) == texts.NO_ITEMS


# -- one conversation, in each language ------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_same_conversation_in_each_language(database_url: str, language: str) -> None:
    tr = i18n.translator(language)
    if language != "en":  # the catalogue really is translated: no English left in these
        for message in (texts.WELCOME, texts.LATEST_HEADER, texts.DELIVERY_FOOTER):
            assert tr(message) != message
    async with bot_harness(database_url) as harness:
        reader = harness.private(first_name="Ana", language_code=APP_CODES[language])
        admin = harness.admin(language_code=APP_CODES[language])

        assert (await reader.reply("/start")).html == tr(texts.WELCOME, name="Ana")
        with i18n.speaking(language):
            expected_help = help_text(BOT_USERNAME, role=None)
        assert (await reader.reply("/help")).html == expected_help
        assert (await reader.reply("/latest")).html == tr(texts.NO_ITEMS)
        subscribed = await reader.reply("/subscribe all")
        assert subscribed.html == tr(texts.SUBSCRIBED_ALL)

        # the admin's guided /add, in the admin's language, with its preview
        assert (await admin.reply("/add")).html == tr(texts.ADD_ASK_TITLE)
        [ask_category] = await admin.send("Cooperatives and the SDGs")
        assert ask_category.html == tr(texts.ADD_ASK_CATEGORY_NONE)
        [ask_link] = await admin.send("Decent work")
        assert ask_link.html == tr(texts.ADD_ASK_LINK)
        [ask_summary] = await admin.send("https://coop.example/sdg")
        assert ask_summary.html == tr(texts.ADD_ASK_SUMMARY)
        [ask_photo] = await _press(admin, ask_summary, tr(texts.BUTTON_SKIP))
        assert ask_photo.html == tr(texts.ADD_ASK_PHOTO)
        intro, preview = await _press(admin, ask_photo, tr(texts.BUTTON_SKIP))
        own_name = tr.language_name(language)
        assert intro.html == (
            tr(texts.ADD_PREVIEW) + "\n" + tr(texts.ADD_PREVIEW_LANGUAGE, language=own_name)
        )
        labels = [b["text"] for b in preview.buttons]
        assert labels == [
            tr(texts.BUTTON_PUBLISH),
            tr(texts.BUTTON_SCHEDULE),
            tr(texts.BUTTON_EDIT),
            tr(texts.BUTTON_ITEM_LANGUAGE),
            tr(texts.BUTTON_CANCEL),
        ]
        [done] = await _press(admin, preview, tr(texts.BUTTON_PUBLISH))
        assert done.html == tr(texts.ADD_PUBLISHED_NEW_CATEGORY, id=1, category="Decent work")
        item = await _item(harness, 1)
        assert item.language == language  # an admin's item is in the admin's language

        # the push, in the reader's language
        pushed = (await harness.emu.wait_for_messages(reader.chat_id, 5, timeout=30))[4]
        assert pushed.html == delivered_item(item, harness.settings.tz, tr)
        assert preview.html == pushed.html  # the preview was exactly what readers get

        latest = await reader.reply("/latest")
        assert latest.html.startswith(tr(texts.LATEST_HEADER))
        assert tr.date(item.published_at, harness.settings.tz) in latest.text
        choose = await reader.reply("/category")
        assert choose.html == tr(texts.CATEGORY_CHOOSE)
        [listing] = await _press(reader, choose, "Decent work")
        assert listing.html.startswith(
            tr(texts.CATEGORY_HEADER, name="Decent work", count=tr.plural(texts.ITEMS, 1))
        )


async def test_concurrent_chats_each_get_their_own_language(harness: Harness) -> None:
    # queued together, handled one after the other in one task: no update inherits the last
    readers = {
        language: harness.private(first_name=language, language_code=APP_CODES[language])
        for language in ("fr", "es", "en")
    }
    for _round in range(2):
        for reader in readers.values():
            harness.emu.send_message(
                "/start",
                chat_id=reader.chat_id,
                user_id=reader.user_id,
                first_name=reader.first_name,
                language_code=reader.language_code,
            )
    await harness.settle()
    for language, reader in readers.items():
        expected = i18n.translator(language)(texts.WELCOME, name=language)
        assert [m.html for m in harness.emu.messages(reader.chat_id)] == [expected] * 2


async def test_concurrent_updates_never_share_a_language() -> None:
    # as PTB runs concurrent updates: each in a task of its own, interleaved at every await
    arrived = 0
    everyone_set = asyncio.Event()
    seen: dict[str, str] = {}

    async def handle(language: str) -> None:
        nonlocal arrived
        i18n.use(language)
        arrived += 1
        if arrived == len(LANGUAGES):
            everyone_set.set()
        await everyone_set.wait()  # every other update has set its language by now
        seen[language] = i18n.current()(texts.NO_ITEMS)

    await asyncio.gather(*(handle(language) for language in LANGUAGES))
    assert seen == {language: i18n.translator(language)(texts.NO_ITEMS) for language in LANGUAGES}
    assert i18n.current().language == "en"  # and the caller's context is untouched


# -- /language --------------------------------------------------------------------------------


async def test_language_switches_the_chat_and_its_menu(harness: Harness) -> None:
    french, spanish = i18n.translator("fr"), i18n.translator("es")
    reader = harness.private(language_code="fr")
    menu = await reader.reply("/language")
    assert menu.html.startswith(
        french(texts.LANGUAGE_MENU, language="français", news="").split("📰")[0]
    )
    assert [b["text"] for b in menu.buttons][:3] == ["English", "✅ Français", "Español"]
    sent, answers = await reader.press(menu, "Español")
    assert sent == [] and [a["text"] for a in answers] == [spanish(texts.LANGUAGE_SWITCHED)]
    edited = harness.emu.bot_message(reader.chat_id, menu.message_id)
    assert edited.html == spanish(
        texts.LANGUAGE_MENU, language="español", news=spanish(texts.NEWS_IN_ALL)
    )
    assert [b["text"] for b in edited.buttons][2] == "✅ Español"
    # from now on Spanish, although the app still speaks French
    assert (await reader.reply("/latest")).html == spanish(texts.NO_ITEMS)
    # and the chat's own menu is Spanish whatever the app's language
    menu_now = harness.emu.menu_shown(reader.chat_id, "fr")
    assert menu_now == [
        {"command": c.name, "description": spanish(c.description)}
        for c in texts.COMMANDS
        if not c.admin_only
    ]
    assert (await reader.reply("/language en")).html == texts.LANGUAGE_SWITCHED
    assert (await reader.reply("/language français")).html == french(texts.LANGUAGE_SWITCHED)
    assert harness.emu.menu_shown(reader.chat_id, "es")[0]["description"] == french(
        texts.COMMANDS[0].description
    )


async def test_a_private_chat_follows_its_app_until_it_chooses(harness: Harness) -> None:
    reader = harness.private(language_code="fr")
    assert (await reader.reply("/latest")).html == i18n.translator("fr")(texts.NO_ITEMS)
    reader.language_code = "es-ES"  # the user switched their app to Spanish
    assert (await reader.reply("/latest")).html == i18n.translator("es")(texts.NO_ITEMS)
    await reader.reply("/language en")
    reader.language_code = "fr"
    assert (await reader.reply("/latest")).html == texts.NO_ITEMS


async def test_menus_and_descriptions_are_registered_per_language(harness: Harness) -> None:
    emu = harness.emu
    stranger = 777_000  # never wrote to the bot: Telegram shows the menu for the app language
    for language in LANGUAGES:
        tr = i18n.translator(language)
        expected = [
            {"command": c.name, "description": tr(c.description)}
            for c in texts.COMMANDS
            if not c.admin_only
        ]
        assert emu.menu_shown(stranger, language) == expected
        assert emu.description("description", language) == tr(texts.BOT_DESCRIPTION)
        assert emu.description("short_description", language) == tr(texts.BOT_SHORT_DESCRIPTION)
    assert emu.menu_shown(stranger, "de") == emu.menu_shown(stranger, "en")
    assert emu.my_commands(language_code="fr")[0]["description"] != texts.COMMANDS[0].description
    # an admin's menu has the admin commands, in the admin's language once known
    admin = harness.admin(language_code="es")
    await admin.reply("/language es")
    shown = emu.menu_shown(ADMIN_ID, "en")
    add = next(c for c in texts.COMMANDS if c.name == "add")
    assert {"command": "add", "description": i18n.translator("es")(add.description)} in shown


async def test_in_a_group_only_administrators_change_the_language(harness: Harness) -> None:
    french = i18n.translator("fr")
    first = harness.in_group(4001, language_code="fr")
    # the member who first used the bot there gives the group its language
    assert (await first.reply("/latest")).html == french(texts.NO_ITEMS)
    later = harness.in_group(4002, language_code="es")
    assert (await later.reply("/latest")).html == french(texts.NO_ITEMS)
    assert (await later.reply("/language es")).html == french(texts.LANGUAGE_ADMINS_ONLY)
    menu = await later.reply("/language")
    sent, answers = await later.press(menu, "English")
    assert sent == [] and [a["text"] for a in answers] == [french(texts.LANGUAGE_ADMINS_ONLY_ALERT)]
    assert (await first.reply("/latest")).html == french(texts.NO_ITEMS)  # nothing changed
    harness.emu.set_member_status(GROUP_ID, 4002, "administrator")
    assert (await later.reply("/language es")).html == i18n.translator("es")(
        texts.LANGUAGE_SWITCHED
    )
    assert (await first.reply("/latest")).html == i18n.translator("es")(texts.NO_ITEMS)


async def test_a_group_keeps_its_languages_when_it_becomes_a_supergroup(
    harness: Harness,
) -> None:
    spanish = i18n.translator("es")
    emu = harness.emu
    group = -4_000_002
    member = Chatter(harness, group, 4003, chat_type="group", chat_title="Old", language_code="es")
    await member.send("/latest")  # the group is Spanish from its first member on
    emu.set_member_status(group, 4003, "administrator")
    assert (await member.reply("/subscribe all")).html == spanish(texts.SUBSCRIBED_ALL)
    new_id = emu.faults.migrate(group)
    await harness.admin().send("/add News | Item | https://coop.example/m")
    await emu.wait_for_messages(new_id, 1, timeout=30)
    # the next item is claimed for the supergroup itself: in the language it inherited
    await harness.admin().send("/add News | Next | https://coop.example/n")
    pushed = await emu.wait_for_messages(new_id, 2, timeout=30)
    assert [m.html.endswith(spanish(texts.DELIVERY_FOOTER)) for m in pushed] == [True, True]


async def test_bad_language_input_changes_nothing(harness: Harness) -> None:
    reader = harness.private(language_code="es")
    spanish = i18n.translator("es")
    assert (await reader.reply("/language xx")).html == spanish(texts.LANGUAGE_UNKNOWN, code="xx")
    assert (await reader.reply("/language <b>")).html == spanish(
        texts.LANGUAGE_UNKNOWN, code=html.escape("<b>")
    )
    menu = await reader.reply("/language")
    for forged in ("v1:lang:ui:de", "v1:lang:news:xx", "v1:lang:ui", "v1:lang:ui:fr:1"):
        sent, answers = await reader.press(menu, data=forged)
        assert sent == [] and [a["text"] for a in answers] == [spanish(texts.BUTTON_EXPIRED)]
    assert (await reader.reply("/latest")).html == spanish(texts.NO_ITEMS)


# -- items have a language --------------------------------------------------------------------


async def test_a_mixed_language_broadcast_reaches_each_chat_in_its_language(
    harness: Harness,
) -> None:
    readers = {
        language: harness.private(language_code=APP_CODES[language]) for language in LANGUAGES
    }
    for reader in readers.values():
        await reader.send("/subscribe all")
    admin = harness.admin()
    await admin.send("/add News | ICA elects new board | https://ica.coop/en/news | Seville.")
    await admin.send("/add [fr] Actualités | L'ACI élit son conseil | https://ica.coop/fr/news")
    items = [await _item(harness, 1), await _item(harness, 2)]
    assert [item.language for item in items] == ["en", "fr"]
    for language, reader in readers.items():
        pushed = await harness.emu.wait_for_messages(reader.chat_id, 3, timeout=30)
        tr = i18n.translator(language)
        assert sorted(m.html for m in pushed[1:]) == sorted(
            delivered_item(item, harness.settings.tz, tr) for item in items
        )


async def test_news_in_filters_pushes_and_listings(harness: Harness) -> None:
    spanish = i18n.translator("es")
    reader = harness.private(language_code="es")
    other = harness.private(language_code="en")
    for chat in (reader, other):
        await chat.send("/subscribe all")
    menu = await reader.reply("/language")
    for label in ("📰 Inglés", "📰 Francés", "📰 Otros idiomas"):
        _sent, answers = await reader.press(
            harness.emu.bot_message(reader.chat_id, menu.message_id), label
        )
        assert answers[0]["text"].startswith(spanish(texts.NEWS_IN_OFF, language="x")[:8])
    # turning off the last one is refused, and changes nothing
    current = harness.emu.bot_message(reader.chat_id, menu.message_id)
    _sent, answers = await reader.press(current, "📰 Español")
    assert [a["text"] for a in answers] == [spanish(texts.NEWS_IN_LAST)]
    assert answers[0]["show_alert"] is True
    subscriptions = await reader.reply("/subscriptions")
    assert spanish(texts.SUBSCRIPTIONS_NEWS_IN, news="español") in subscriptions.html

    admin = harness.admin()
    await admin.send("/add News | In English | https://coop.example/en")
    await admin.send("/add [es] Noticias | En español | https://coop.example/es")
    await admin.send("/add [pt] Novidades | Em português | https://coop.example/pt")
    await harness.emu.wait_for_messages(other.chat_id, 4, timeout=30)  # a reply + 3 pushes
    await harness.settle()
    pushed = harness.emu.messages(reader.chat_id)[3:]
    assert [m.text.split("\n")[0] for m in pushed] == ["En español"]
    latest = await reader.reply("/latest")
    assert "En español" in latest.text and "In English" not in latest.text
    assert "Em português" not in latest.text
    choose = await reader.reply("/category")
    assert [b["text"] for b in choose.buttons] == ["News (0)", "Noticias (1)", "Novidades (0)"]
    # the reader who takes everything got all three
    assert len(harness.emu.messages(other.chat_id)) == 4


async def test_other_languages_have_sentences_of_their_own(harness: Harness) -> None:
    # "other languages" is no language's name: "les actualités en autres langues" is not French
    french = i18n.translator("fr")
    reader = harness.private(language_code="fr")
    menu = await reader.reply("/language")
    said = []
    for label in ("📰 Autres langues", "📰 Autres langues", "📰 Anglais"):
        _sent, answers = await reader.press(
            harness.emu.bot_message(reader.chat_id, menu.message_id), label
        )
        said += [a["text"] for a in answers]
    assert said == [
        french(texts.NEWS_IN_OTHERS_OFF),
        french(texts.NEWS_IN_OTHERS_ON),
        french(texts.NEWS_IN_OFF, language="anglais"),
    ]


async def test_an_unknown_item_language_is_refused(harness: Harness) -> None:
    admin = harness.admin()
    reply = await admin.reply("/add [xx] News | Title | https://coop.example/x")
    problem = texts.PROBLEMS["bad_language"].format(code="xx")
    assert reply.html.startswith(texts.ADD_PROBLEM.format(problem=problem))
    assert await _services(harness).news.get_item(1) is None
    # the guided preview's language button takes a typed code, and refuses a bad one
    await admin.send("/add")
    await admin.send("Title")
    await admin.send("News")
    [ask_summary] = await admin.send("https://coop.example/y")
    [ask_photo] = await _press(admin, ask_summary, texts.BUTTON_SKIP)
    _, preview = await _press(admin, ask_photo, texts.BUTTON_SKIP)
    [ask] = await _press(admin, preview, texts.BUTTON_ITEM_LANGUAGE)
    assert ask.html == texts.ADD_ASK_LANGUAGE
    [again] = await admin.send("klingon")
    assert problem.replace("xx", "klingon") in again.html
    intro, preview = await admin.send("PT")
    assert "Portuguese" in intro.text
    await _press(admin, preview, texts.BUTTON_PUBLISH)
    assert (await _item(harness, 1)).language == "pt"


# -- the sandbox ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "es"])
async def test_the_sandbox_speaks_the_language_asked_for(tmp_path, language: str) -> None:
    code, out, err = await run_coopbot(
        "sandbox", "--language", language, env={"CWD": str(tmp_path)}, stdin=b"/start\n/latest 1\n"
    )
    assert code == 0, err
    tr = i18n.translator(language)
    assert (
        html.unescape(tr(texts.WELCOME, name="Sandbox"))
        .split("\n")[0]
        .replace("<b>", "")
        .replace("</b>", "")
        in out
    )
    assert tr(texts.MORE_BUTTON) in out


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_numbers_are_written_as_babel_writes_them(language: str) -> None:
    """`Translator.number` skips Babel below 1,000 (no separator to place): the same text."""
    from babel.numbers import format_decimal

    tr = i18n.translator(language)
    for n in (0, 7, 999, 1000, 12345, 1_000_000, 2.5, -3):
        assert tr.number(n) == format_decimal(n, locale=language)
