"""/privacy and /forget: a chat sees what the bot keeps about it, in its language, and erases
it; nothing of it is left in any table that names a chat, the daily figures keep their
totals, no push reaches it afterwards, and a later /start starts afresh. In groups only
administrators erase; forged, stale and second presses change nothing.

End to end through the emulator, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import i18n, texts
from bot.callbacks import ForgetChoice, encode
from bot.db.locks import CHAT_ROWS, writing_for_chats
from bot.db.models import AuditEntry, Base, Chat, Delivery, Digest, Draft, ScheduledItem
from bot.db.models.delivery import PENDING, SENT
from bot.delivery import ChatLife
from bot.delivery.chat_life import CLAIMED_AT
from bot.delivery.store import DeliveryStore
from bot.delivery.store.deliveries import Outcome
from bot.services.news import NewsService
from bot.services.privacy import PrivacyService
from bot.services.retention import Figures
from bot.services.validation import ItemDraft
from emulator.models import SentMessage
from testbed.delivery_kit import drain, harness_with_categories, publish, services
from testbed.delivery_kit import sessions as sessions_of
from testbed.harness import ADMIN_ID, GROUP_ID, Chatter, Harness, until

APP_CODES = {"en": "en", "fr": "fr-CA", "es": "es-419"}


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with harness_with_categories(database_url) as running:
        yield running


def chat_columns() -> list[Column]:
    """Every column that names a chat, in every table the models know: a new table with a
    chat in it is checked without a change here."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name == "chat_id" or column.name.endswith("_chat_id"):
                found.append(column)
    found.append(Chat.__table__.c.id)
    return found


async def rows_of(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> dict[str, int]:
    """How many rows of each table name this chat (tables with none are left out)."""
    counts = {}
    async with sessions() as session:
        for column in chat_columns():
            n = await session.scalar(
                select(func.count()).select_from(column.table).where(column == chat_id)
            )
            if n:
                counts[f"{column.table.name}.{column.name}"] = int(n)
    return counts


async def figures(harness: Harness) -> dict[int, Figures]:
    """Every item's deliveries, all days together."""
    retention = services(harness).retention
    totals = {}
    for item in (await services(harness).news.page(50)).items:
        total = Figures()
        for day in (await retention.figures(item.id)).values():
            total = total + day
        totals[item.id] = total
    return totals


async def ask_to_forget(chat: Chatter, language: str = "en") -> SentMessage:
    tr = i18n.translator(language)
    question = await chat.reply("/forget")
    labels = [b["text"] for b in question.buttons]
    assert labels == [tr(texts.BUTTON_ERASE), tr(texts.BUTTON_KEEP_DATA)]
    return question


async def erase(chat: Chatter, language: str = "en") -> None:
    """/forget, then "Yes, erase", in a chat that speaks `language`."""
    tr = i18n.translator(language)
    question = await ask_to_forget(chat, language)
    replies, answers = await chat.press(question, tr(texts.BUTTON_ERASE))
    assert [a["text"] for a in answers] == [None]
    # (a report an admin is owed may come in the same moment)
    assert tr(texts.FORGET_DONE) in [m.text for m in replies]
    assert chat.harness.emu.bot_message(chat.chat_id, question.message_id).buttons == []


# -- /privacy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(APP_CODES))
async def test_privacy_shows_this_chats_data_in_its_language(
    harness: Harness, language: str
) -> None:
    tr = i18n.translator(language)
    reader = harness.private(first_name="Ada", language_code=APP_CODES[language])
    categories = [c for c in await services(harness).news.categories() if c.name != "News"]
    for category in categories:
        await reader.reply(f"/subscribe {category.name_in(language)}")
    await reader.reply('/filter add housing "worker co-op" -bank')
    await reader.reply("/quiet 22:00-07:30")
    await reader.reply("/digest daily 08:00")
    await reader.reply("/timezone Europe/Paris")

    shown = (await reader.reply("/privacy")).html
    settings = harness.settings
    expected = [
        tr(texts.PRIVACY_HEADER),
        tr(texts.PRIVACY_NAME, name="Ada"),
        tr(texts.PRIVACY_FOLLOWS, following=tr.plural(texts.PRIVACY_FOLLOWS_SOME, 2)),
        tr.plural(texts.PRIVACY_FILTERS, 3),
        tr(
            texts.PRIVACY_LANGUAGE,
            language=tr.language_name(language),
            news=tr(texts.NEWS_IN_ALL),
        ),
        tr(texts.PRIVACY_ZONE, tz="Europe/Paris"),
        tr(texts.PRIVACY_QUIET, start="22:00", end="07:30"),
        tr(texts.PRIVACY_DIGEST, digest=tr(texts.DIGEST_MODE_DAILY, time="08:00")),
        tr(texts.PRIVACY_SENT, days=settings.delivery_keep_days),
        tr(texts.PRIVACY_SEARCHES),
        tr(texts.PRIVACY_SUGGESTIONS),
        "",
        tr(texts.PRIVACY_NEVER),
        "",
        tr(texts.PRIVACY_ERASE),
    ]
    assert shown == "\n".join(expected)
    assert tr(texts.PRIVACY_ADMIN, days=settings.audit_keep_days, hours=24) not in shown

    # a chat with nothing set says so, line by line
    other = harness.private(first_name="Bo", language_code=APP_CODES[language])
    shown = (await other.reply("/privacy")).html
    for line in (
        tr(texts.PRIVACY_FOLLOWS_NONE),
        tr(texts.PRIVACY_FILTERS_NONE),
        tr(texts.PRIVACY_ZONE_DEFAULT, tz=settings.timezone),
        tr(texts.PRIVACY_QUIET_NONE),
        tr(texts.PRIVACY_DIGEST, digest=tr(texts.DIGEST_MODE_OFF)),
    ):
        assert line in shown.split("\n"), line
    await other.reply("/subscribe all")
    following = tr(texts.PRIVACY_FOLLOWS, following=tr(texts.PRIVACY_FOLLOWS_ALL))
    assert following in (await other.reply("/privacy")).html.split("\n")


async def test_privacy_tells_admins_of_the_audit_log(harness: Harness) -> None:
    admin = harness.admin()
    shown = (await admin.reply("/privacy")).html
    settings = harness.settings
    assert shown.endswith(
        "\n\n" + texts.PRIVACY_ADMIN.format(days=settings.audit_keep_days, hours=24)
    )
    # …in their private chat only: in a group, what the group keeps
    emu = harness.emu
    emu.register_chat(GROUP_ID, "supergroup", "Co-op Hub")
    in_group = harness.in_group(ADMIN_ID)
    shown = (await in_group.reply("/privacy")).html
    assert texts.PRIVACY_NAME.format(name="Co-op Hub") in shown
    assert "audit" not in shown
    # /privacy and /forget are in /help and in the menu
    help_text = (await harness.private().reply("/help")).text
    assert "/privacy" in help_text and "/forget" in help_text
    menu = [c["command"] for c in emu.my_commands()]
    assert menu.index("privacy") < menu.index("forget")


# -- /forget -------------------------------------------------------------------------------------


async def test_forget_leaves_nothing_of_the_chat_and_keeps_the_totals(harness: Harness) -> None:
    reader = harness.private(first_name="Ada", language_code="fr")
    other = harness.private(first_name="Bo")
    await reader.reply("/language es")  # chosen: a fresh start goes back to the app's
    await reader.reply("/subscribe all")
    await other.reply("/subscribe all")
    await reader.reply("/filter add co-ops -bank")
    await reader.reply("/quiet 22:00-07:00")
    await reader.reply("/timezone Europe/Madrid")
    items = [await publish(harness) for _ in range(6)]
    await drain(harness)
    assert len(harness.emu.messages(reader.chat_id)) > 6  # the pushes arrived
    await reader.send("/search co-ops")  # more than a page: the search is kept for More
    # a correction of a message it was sent, and a digest it had once
    corrections = services(harness).corrections
    await corrections.edit(ADMIN_ID, items[0].id, "title", "Item, corrected")
    await services(harness).delivery.corrections_runner.settled()
    await drain(harness)
    sessions = sessions_of(harness)
    async with sessions.begin() as session:
        moment = datetime.now(UTC)
        session.add(
            Digest(
                chat_id=reader.chat_id,
                period="2030-01-01",
                since=moment,
                until=moment,
                status="sent",
                items=2,
            )
        )
    kept = await rows_of(sessions, reader.chat_id)
    for table in (
        "chats.id",
        "subscriptions.chat_id",
        "chat_filters.chat_id",
        "deliveries.chat_id",
        "corrections.chat_id",
        "digests.chat_id",
        "searches.chat_id",
    ):
        assert kept.get(table), (table, kept)
    totals = await figures(harness)
    others_before = await rows_of(sessions, other.chat_id)

    await erase(reader, "es")

    assert await rows_of(sessions, reader.chat_id) == {}
    assert await figures(harness) == totals  # the newsroom's counts, without the chat
    assert await rows_of(sessions, other.chat_id) == others_before
    assert reader.chat_id not in services(harness).chats._known
    # its own menu (set by /language) is gone: Telegram shows the app's language's again
    assert harness.emu.my_commands({"type": "chat", "chat_id": reader.chat_id}) == []

    # no push reaches it; the others still get theirs
    seen, others_seen = (len(harness.emu.messages(c.chat_id)) for c in (reader, other))
    await publish(harness)
    await drain(harness)
    assert len(harness.emu.messages(reader.chat_id)) == seen
    assert len(harness.emu.messages(other.chat_id)) == others_seen + 1

    # /start starts afresh: a new chat, in the language of the user's app
    welcome = await reader.reply("/start")
    assert welcome.html == i18n.translator("fr")(texts.WELCOME, name="Ada")
    data = await services(harness).privacy.chat_data(reader.chat_id)
    assert data is not None
    assert (data.language, data.language_chosen, data.timezone, data.quiet) == (
        "fr",
        False,
        None,
        None,
    )
    assert (data.everything, data.categories, data.filters) == (False, 0, 0)
    assert set(await rows_of(sessions, reader.chat_id)) == {"chats.id"}


async def test_pressing_keep_changes_nothing(harness: Harness) -> None:
    reader = harness.private()
    await reader.reply("/subscribe all")
    await reader.reply("/filter add housing")
    before = await rows_of(sessions_of(harness), reader.chat_id)
    question = await ask_to_forget(reader)
    replies, answers = await reader.press(question, texts.BUTTON_KEEP_DATA)
    assert [a["text"] for a in answers] == [None]
    assert [m.text for m in replies] == [texts.FORGET_KEPT]
    assert harness.emu.bot_message(reader.chat_id, question.message_id).buttons == []
    assert await rows_of(sessions_of(harness), reader.chat_id) == before


async def test_forged_and_stale_buttons_change_nothing(harness: Harness) -> None:
    reader = harness.private()
    other = harness.private()
    for chat in (reader, other):
        await chat.reply("/subscribe all")
    question = await ask_to_forget(reader)
    other_question = await ask_to_forget(other)
    erase_data = question.buttons[0]["callback_data"]
    stamp = int(erase_data.rsplit(":", 1)[1])
    sessions = sessions_of(harness)
    before = {c.chat_id: await rows_of(sessions, c.chat_id) for c in (reader, other)}

    forged = [
        other_question.buttons[0]["callback_data"],  # another chat's, pressed here
        encode(ForgetChoice(True, reader.chat_id, stamp + 1)),  # not this chat as it is
        encode(ForgetChoice(True, other.chat_id, stamp)),
        f"v1:fgt:yes:{reader.chat_id}",
        f"v1:fgt:maybe:{reader.chat_id}:{stamp}",
        f"v1:fgt:yes:{reader.chat_id}:x",
        "v1:fgt:",
    ]
    for data in [*forged, f"v2:fgt:yes:{reader.chat_id}:{stamp}"]:
        replies, answers = await reader.press(question, data=data)
        assert replies == [], data
        # another release's button has expired, as every such button has
        answer = texts.FORGET_STALE if data in forged else texts.BUTTON_EXPIRED
        assert [(a["text"], a["show_alert"]) for a in answers] == [(answer, True)], data
    assert {c.chat_id: await rows_of(sessions, c.chat_id) for c in (reader, other)} == before

    # pressed twice: the second finds the chat erased (or recorded anew) and does nothing
    await reader.press(question, data=erase_data)
    assert await rows_of(sessions, reader.chat_id) == {}
    await reader.reply("/subscribe all")  # back, as a new chat
    again = await rows_of(sessions, reader.chat_id)
    replies, answers = await reader.press(question, data=erase_data)
    assert replies == []
    assert [a["text"] for a in answers] == [texts.FORGET_STALE]
    assert await rows_of(sessions, reader.chat_id) == again
    assert await rows_of(sessions, other.chat_id) == before[other.chat_id]


async def test_in_a_group_only_administrators_erase(harness: Harness) -> None:
    member, admin = harness.group_with_admin()
    await admin.reply("/subscribe all")
    await admin.reply("/filter add housing")
    sessions = sessions_of(harness)
    before = await rows_of(sessions, GROUP_ID)

    assert (await member.reply("/forget")).text == texts.FORGET_ADMINS_ONLY
    # anyone may look
    assert (await member.reply("/privacy")).text.startswith("🔒 Your data")
    question = await ask_to_forget(admin)
    replies, answers = await member.press(question, texts.BUTTON_ERASE)
    assert replies == []
    assert [(a["text"], a["show_alert"]) for a in answers] == [
        (texts.FORGET_ADMINS_ONLY_ALERT, True)
    ]
    assert await rows_of(sessions, GROUP_ID) == before

    replies, _answers = await admin.press(question, texts.BUTTON_ERASE)
    assert [m.text for m in replies] == [texts.FORGET_DONE]
    assert await rows_of(sessions, GROUP_ID) == {}


async def test_an_admins_forget_keeps_the_audit_log_and_what_they_scheduled(
    harness: Harness,
) -> None:
    admin = harness.admin()
    await admin.reply("/subscribe all")
    await admin.send("/add News | Kept in the log | https://coop.example/log")
    await drain(harness)  # its push to this chat too
    sessions = sessions_of(harness)
    async with sessions.begin() as session:
        await session.execute(
            insert(ScheduledItem),
            [
                {
                    "category": "News",
                    "title": "Later",
                    "publish_at": datetime(2040, 1, 1, tzinfo=UTC),
                    "created_by": ADMIN_ID,
                    "chat_id": ADMIN_ID,
                }
            ],
        )
    await admin.send("/add")  # a guided /add left unfinished: a draft
    async with sessions() as session:
        audit = (await session.execute(select(AuditEntry.id, AuditEntry.action))).all()
        assert await session.scalar(select(func.count()).select_from(Draft)) == 1
    assert audit

    question = await ask_to_forget(admin)
    assert question.html.endswith(texts.FORGET_CONFIRM_ADMIN)
    await erase(admin)

    assert set(await rows_of(sessions, ADMIN_ID)) == {"scheduled_items.chat_id"}
    async with sessions() as session:
        assert (await session.execute(select(AuditEntry.id, AuditEntry.action))).all() == audit
    # their admin menu is back, in their app's language
    menu = [c["command"] for c in harness.emu.my_commands({"type": "chat", "chat_id": ADMIN_ID})]
    assert "add" in menu


# -- what was in flight when the chat was forgotten ------------------------------------------


async def stored_item(news: NewsService, title: str) -> int:
    """An item stored without a broadcast (the test writes its deliveries itself)."""
    draft = ItemDraft("News", title, f"https://coop.example/{title.lower()}", None)
    return (await news.publish(draft, source="test", broadcast=False)).item.id


async def test_a_push_in_flight_when_its_chat_is_forgotten(sessions, news) -> None:
    """Its row is gone: recording its outcome neither fails the batch (the others' outcomes
    are written) nor writes it back; and the sender drops the work it had claimed."""
    item = await stored_item(news, "In flight")
    async with sessions.begin() as session:
        for chat_id in (1, 2):
            session.add(Chat(id=chat_id, type="private"))
        await session.flush()
        await session.execute(
            insert(Delivery), [{"item_id": item, "chat_id": c, "status": PENDING} for c in (1, 2)]
        )
    store = DeliveryStore(sessions)
    claimed_at = time.monotonic()
    claimed = await store.deliveries.claim("me", 10, 60.0)
    assert {c.chat_id for c in claimed} == {1, 2}

    life = ChatLife(store.chats)
    privacy = PrivacyService(sessions, chats=_Chats(), chat_life=life)
    data = await privacy.chat_data(1)
    assert data is not None
    assert await privacy.forget(1, data.stamp) is not None

    token = CLAIMED_AT.set(claimed_at)
    try:
        assert life.is_gone(1) and not life.is_gone(2)
    finally:
        CLAIMED_AT.reset(token)
    token = CLAIMED_AT.set(time.monotonic())  # claimed after the erase (a fresh start): goes
    try:
        assert not life.is_gone(1)
    finally:
        CLAIMED_AT.reset(token)

    now = datetime.now(UTC)
    await store.deliveries.record(
        [Outcome(item, c, SENT, 1, message_id=c, sent_at=now, revision=1) for c in (1, 2)]
    )
    async with sessions() as session:
        rows = (await session.execute(select(Delivery.chat_id, Delivery.status))).all()
    assert rows == [(2, SENT)]


async def test_a_fanout_running_while_a_chat_is_forgotten(sessions, news) -> None:
    """PostgreSQL: what a fan-out that was running wrote for the chat goes with it (the forget
    waits for it), and one that starts later finds nothing of the chat."""
    async with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: nothing runs beside the forget")
    item = await stored_item(news, "Racing")
    async with sessions.begin() as session:
        session.add(Chat(id=7, type="private"))
    privacy = PrivacyService(sessions, chats=_Chats(), chat_life=_Life())
    data = await privacy.chat_data(7)
    assert data is not None

    async with sessions.begin() as fanout:  # a fan-out under way: it read the chat's settings
        await writing_for_chats(fanout)
        forgetting = asyncio.create_task(privacy.forget(7, data.stamp))
        await until(lambda: _waiting_for_the_lock(sessions), "the forget to wait", 10)
        await fanout.execute(insert(Delivery), [{"item_id": item, "chat_id": 7, "status": PENDING}])
    assert await forgetting is not None
    assert await rows_of(sessions, 7) == {}


async def _waiting_for_the_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objid = :low"
            ),
            {"low": CHAT_ROWS & 0xFFFF_FFFF},
        )
    return bool(waiting)


class _Chats:
    def forget_cached(self, chat_id: int) -> None: ...


class _Life:
    def forgotten(self, chat_id: int) -> None: ...
