"""Keyword filters: /filter, and the rule the fan-out applies (whole words and phrases, case
and accents ignored, exclude beats include), end to end through the emulator; the bad
inputs that change nothing; /subscriptions and /stats."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import i18n, texts
from bot.db.models import ChatFilter, Delivery
from bot.services.filters import (
    MAX_TERMS,
    TERM_MAX,
    BadTerm,
    ChatFilters,
    FilterTerm,
    parse_terms,
    passes,
)
from emulator.models import SentMessage
from handlers.presentation import rules_text
from testbed.delivery_kit import drain, sessions
from testbed.harness import GROUP_ID, Chatter, Harness


def _filters(*terms: str) -> ChatFilters:
    parsed = parse_terms(" ".join(terms))
    return ChatFilters(
        1, tuple(FilterTerm(n, t.term, t.label, t.exclude) for n, t in enumerate(parsed))
    )


# -- the rule, without a bot ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "title", "summary", "passes_"),
    [
        (["housing"], "Housing co-ops grow", None, True),
        (["housing"], "HOUSING news", None, True),  # case
        (["housing"], "Co-op houses", None, False),  # whole words only
        (["bank"], "River embankment repaired", None, False),  # never a substring
        (["-bank"], "River embankment repaired", None, True),
        (["-bank"], "A co-op Bank opens", None, False),
        (["cafe"], "Café workers organise", None, True),  # accents, one way
        (["café"], "Cafe workers organise", None, True),  # and the other
        (["housing"], "Title", "New housing in Leeds", True),  # the summary counts
        (['"worker co-op"'], "A worker co-op in Ghent", None, True),  # a phrase
        (['"worker co-op"'], "Worker-Co-op news", None, True),  # punctuation is a space
        (['"worker co-op"'], "Workers co-operate", None, False),
        (['"worker co-op"'], "Co-op worker", None, False),  # a phrase keeps its order
        (['"worker co-op"'], "A worker", "co-op today", False),  # not across title/summary
        (["housing", "-bank"], "Housing bank", None, False),  # exclude beats include
        (["housing", "energy"], "Energy co-ops", None, True),  # any include term
        ([], "Anything", None, True),
    ],
)
def test_the_rule(terms: list[str], title: str, summary: str | None, passes_: bool) -> None:
    assert passes(_filters(*terms), title, summary) is passes_


def test_terms_as_typed() -> None:
    parsed = parse_terms('housing "Worker  Co-op" -bank -"Big Bank" “smart quotes”')
    assert [(t.label, t.term, t.exclude) for t in parsed] == [
        ("housing", "housing", False),
        ("Worker  Co-op", "worker co op", False),
        ("bank", "bank", True),
        ("Big Bank", "big bank", True),
        ("smart quotes", "smart quotes", False),
    ]
    for bad in ("...", "-", '"!!"', "-?!"):
        with pytest.raises(BadTerm) as raised:
            parse_terms(f"fine {bad}")
        assert raised.value.reason == "empty"
    with pytest.raises(BadTerm) as raised:
        parse_terms("x" * (TERM_MAX + 1))
    assert raised.value.reason == "long"
    assert parse_terms("x" * TERM_MAX)[0].term == "x" * TERM_MAX


# -- end to end -------------------------------------------------------------------------------


def _services(harness: Harness):
    return harness.application.bot_data["services"]


async def _terms(harness: Harness, chat_id: int) -> list[tuple[str, bool]]:
    filters = await _services(harness).filters.of_chat(chat_id)
    return [(t.label, t.exclude) for t in filters.terms]


def _heads(messages: list[SentMessage]) -> list[str]:
    return [m.text.split("\n")[0] for m in messages]


async def test_filters_decide_what_is_pushed(harness: Harness) -> None:
    picky = harness.private()
    cafe = harness.private()
    everything = harness.private()
    for chat in (picky, cafe, everything):
        await chat.send("/subscribe all")
    added = await picky.reply('/filter add housing "worker co-op"')
    assert added.html.startswith(texts.FILTER_ADDED)
    await picky.reply("/filter add -bank")
    assert await _terms(harness, picky.chat_id) == [
        ("housing", False),
        ("worker co-op", False),
        ("bank", True),
    ]
    await cafe.reply("/filter add cafe")

    admin = harness.admin()
    items = [
        "News | Housing co-ops grow in Leeds | https://coop.example/1",
        "News | Café owners form a Worker Co-op | https://coop.example/2",
        "News | Housing bank opens | https://coop.example/3",
        "News | River embankment repaired | https://coop.example/4 | New housing nearby.",
        "News | Workers co-operative news | https://coop.example/5",
        "News | Worker cooperatives meet | https://coop.example/6",
    ]
    for line in items:
        await admin.send(f"/add {line}")
    await harness.emu.wait_for_messages(everything.chat_id, 1 + len(items), timeout=30)
    await drain(harness)

    assert _heads(harness.emu.messages(picky.chat_id)[3:]) == [
        "Housing co-ops grow in Leeds",
        "Café owners form a Worker Co-op",  # the phrase
        "River embankment repaired",  # "bank" is not in "embankment"; housing is
    ]
    assert _heads(harness.emu.messages(cafe.chat_id)[2:]) == ["Café owners form a Worker Co-op"]
    assert len(harness.emu.messages(everything.chat_id)) == 1 + len(items)

    # a filtered-out pair has no delivery row at all
    async with sessions(harness)() as session:
        pairs = set((await session.execute(select(Delivery.chat_id, Delivery.item_id))).all())
    per_chat = {chat: sorted(i for c, i in pairs if c == chat) for chat, _ in pairs}
    assert per_chat[picky.chat_id] == [1, 2, 4]
    assert per_chat[cafe.chat_id] == [2]
    assert per_chat[everything.chat_id] == [1, 2, 3, 4, 5, 6]

    # /stats counts what the filters held back: 3 for one reader, 5 for the other
    stats = await admin.reply("/stats")
    assert texts.STATS_FILTERED.format(count=8) in stats.html

    # /subscriptions shows them; /latest and /search are not filtered
    shown = await picky.reply("/subscriptions")
    assert rules_text(await _services(harness).filters.of_chat(picky.chat_id)) in shown.html
    assert "“housing”, “worker co-op”" in shown.text and "“bank”" in shown.text
    assert texts.SUBSCRIPTIONS_NO_FILTERS in (await everything.reply("/subscriptions")).html
    latest = await picky.reply("/latest")
    assert "Workers co-operative news" in latest.text and "Housing bank opens" in latest.text
    found = await picky.reply("/search bank")
    assert "Housing bank opens" in found.text


async def test_the_keyboard_removes_and_clears(harness: Harness) -> None:
    reader = harness.private()
    await reader.send("/subscribe all")
    await reader.send('/filter add housing -bank "fair trade"')
    menu = await reader.reply("/filter")
    assert [b["text"] for b in menu.buttons] == [
        "✖️ housing",
        "✖️ -bank",
        "✖️ fair trade",
        texts.FILTER_CLEAR_BUTTON,
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for b in menu.buttons)
    _sent, answers = await reader.press(menu, "✖️ -bank")
    assert [a["text"] for a in answers] == ["Removed “bank”."]
    assert await _terms(harness, reader.chat_id) == [("housing", False), ("fair trade", False)]
    menu = harness.emu.bot_message(reader.chat_id, menu.message_id)
    assert "✖️ -bank" not in [b["text"] for b in menu.buttons]
    await reader.press(menu, texts.FILTER_CLEAR_BUTTON)
    assert await _terms(harness, reader.chat_id) == []
    menu = harness.emu.bot_message(reader.chat_id, menu.message_id)
    assert menu.buttons == [] and texts.FILTER_NONE.split("\n")[0] in menu.html

    # by command: remove (by any spelling of the term), then clear
    await reader.send('/filter add housing "worker co-op" -bank')
    removed = await reader.reply("/filter remove HOUSING -bank")
    assert removed.html.startswith(texts.FILTER_REMOVED.format(terms="“housing”, “bank”"))
    assert await _terms(harness, reader.chat_id) == [("worker co-op", False)]
    assert (await reader.reply("/filter clear")).html == texts.FILTER_CLEARED
    assert (await reader.reply("/filter clear")).html == texts.FILTER_NOTHING_TO_CLEAR
    assert await _terms(harness, reader.chat_id) == []
    # a term added again with the other sign changes sides
    await reader.send("/filter add bank")
    await reader.send("/filter add -bank")
    assert await _terms(harness, reader.chat_id) == [("bank", True)]


async def test_in_a_group_only_administrators_change_filters(harness: Harness) -> None:
    member = harness.in_group(4101)
    boss = harness.in_group(4102)
    harness.emu.set_member_status(GROUP_ID, 4101, "member")
    harness.emu.set_member_status(GROUP_ID, 4102, "administrator")
    assert (await member.reply("/filter add housing")).html == texts.FILTER_ADMINS_ONLY
    assert (await member.reply("/filter clear")).html == texts.FILTER_ADMINS_ONLY
    assert await _terms(harness, GROUP_ID) == []
    await boss.reply("/filter add housing")
    assert await _terms(harness, GROUP_ID) == [("housing", False)]
    # anyone may look; only admins may press
    menu = await member.reply("/filter")
    assert "“housing”" in menu.text
    _sent, answers = await member.press(menu, "✖️ housing")
    assert [a["text"] for a in answers] == [texts.FILTER_ADMINS_ONLY_ALERT]
    _sent, answers = await member.press(menu, texts.FILTER_CLEAR_BUTTON)
    assert [a["text"] for a in answers] == [texts.FILTER_ADMINS_ONLY_ALERT]
    assert await _terms(harness, GROUP_ID) == [("housing", False)]
    await boss.press(menu, "✖️ housing")
    assert await _terms(harness, GROUP_ID) == []


async def _unchanged(chat: Chatter, harness: Harness, command: str, expected: str) -> None:
    before = await _terms(harness, chat.chat_id)
    reply = await chat.reply(command)
    assert reply.html == expected, reply.html
    assert await _terms(harness, chat.chat_id) == before


async def test_bad_input_shows_the_right_form_and_changes_nothing(harness: Harness) -> None:
    reader = harness.private()
    await reader.send("/filter add housing")
    how = texts.FILTER_HOW.format(max=MAX_TERMS, length=TERM_MAX)
    usage = texts.FILTER_USAGE.format(how=how)
    # a term that is only punctuation, alone or beside good ones
    for command, term in [
        ("/filter add ...", "..."),
        ("/filter add energy -", "-"),
        ('/filter add energy "?!"', "?!"),
    ]:
        await _unchanged(reader, harness, command, texts.FILTER_ONLY_PUNCTUATION.format(term=term))
    # a term over 64 characters
    long = "a" * (TERM_MAX + 1)
    await _unchanged(
        reader,
        harness,
        f"/filter add energy {long}",
        texts.FILTER_TOO_LONG.format(max=TERM_MAX, term="a" * TERM_MAX + "…", length=TERM_MAX + 1),
    )
    # a verb it does not know, or no terms
    for command in ("/filter housing", "/filter add", "/filter remove"):
        await _unchanged(reader, harness, command, usage)
    await _unchanged(
        reader,
        harness,
        "/filter remove energy",
        texts.FILTER_UNKNOWN_TERM.format(term="energy"),
    )
    # up to 20 terms, then a 21st is refused
    words = " ".join(f"w{n}" for n in range(MAX_TERMS - 1))
    await reader.send(f"/filter add {words}")
    assert len(await _terms(harness, reader.chat_id)) == MAX_TERMS
    await reader.send("/filter add housing")  # one already there: still 20, fine
    await _unchanged(
        reader,
        harness,
        "/filter add energy",
        texts.FILTER_TOO_MANY.format(max=MAX_TERMS, count=MAX_TERMS, adding=1),
    )
    # forged buttons: garbage, an unknown term, another chat's term
    other = harness.private()
    await other.send("/filter add solar")
    async with sessions(harness)() as session:
        theirs = await session.scalar(
            select(ChatFilter.id).where(ChatFilter.chat_id == other.chat_id)
        )
    menu = await reader.reply("/filter")
    before = await _terms(harness, reader.chat_id)
    forged = ("v1:flt:rm:abc", "v1:flt:rm:0", "v1:flt:rm:99999", f"v1:flt:rm:{theirs}", "v1:flt:x")
    for data in forged:
        sent, answers = await reader.press(menu, data=data)
        assert sent == []
        assert [(a["text"], a["show_alert"]) for a in answers] == [
            (texts.FILTER_BUTTON_STALE, True)
        ], data
    assert await _terms(harness, reader.chat_id) == before
    assert await _terms(harness, other.chat_id) == [("solar", False)]


async def test_help_and_menu_list_filter(harness: Harness) -> None:
    reader = harness.private()
    shown = await reader.reply("/help")
    assert "/filter" in shown.text
    empty = await reader.reply("/filter")
    assert empty.html == texts.FILTER_NONE.format(
        how=texts.FILTER_HOW.format(max=MAX_TERMS, length=TERM_MAX)
    )


async def test_a_group_keeps_its_filters_when_it_becomes_a_supergroup(harness: Harness) -> None:
    emu = harness.emu
    group = -4_000_101
    member = Chatter(harness, group, 4103, chat_type="group", chat_title="Old")
    emu.set_member_status(group, 4103, "administrator")
    await member.send("/subscribe all")
    await member.send("/filter add housing -bank")
    new_id = emu.faults.migrate(group)
    admin = harness.admin()
    await admin.send("/add News | Housing bank opens | https://coop.example/m1")
    await admin.send("/add News | Housing co-ops grow | https://coop.example/m2")
    await emu.wait_for_messages(new_id, 1)
    await drain(harness)
    assert await _terms(harness, new_id) == [("housing", False), ("bank", True)]
    assert _heads(emu.messages(new_id)) == ["Housing co-ops grow"]


async def test_filter_speaks_the_chats_language(harness: Harness) -> None:
    french = i18n.translator("fr")
    reader = harness.private(language_code="fr")
    reply = await reader.reply("/filter add !!!")
    assert reply.html == french(texts.FILTER_ONLY_PUNCTUATION, term="!!!")
    reply = await reader.reply('/filter add café "co-op de travail"')
    assert reply.html.startswith(french(texts.FILTER_ADDED))
    # French guillemets hold their term with no-break spaces
    terms = "«\u00a0café\u00a0», «\u00a0co-op de travail\u00a0»"
    assert french(texts.FILTER_INCLUDE, terms=terms) in reply.html
