"""Every example a text gives works, in each language, against the sample data.

The examples are the commands inside `<code>…</code>` of every message of texts.py, as each
catalogue words them (`/search coopératives conférence`, `/digest weekly lun 08:00`). Each one
runs once, in the order texts.py gives them, in the private chat of an admin whose Telegram speaks
that language, on a bot loaded with the sample data (the ILO's ten items, `coopbot sandbox`'s
too); its reply must be a real answer: none of the replies that say a command failed (unknown,
nothing found, bad input, an error). What the examples need and the sample lacks is arranged
the way a reader would: the example feeds' stand-in address (example.coop) is served by a local
feed server, and a term is added before an example takes it away.

Forms (`/add Category | Title | https://link`, `/feeds remove <number>`) are not examples;
FORMS names them, and a test keeps that list true.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from babel.dates import get_day_names

from bot import i18n, texts
from bot.services.digests import parse_weekday
from bot.services.seed import seed
from testbed.feed_server import FeedServer, serving_feeds
from testbed.harness import BOT_USERNAME, Chatter, bot_harness
from tests.test_catalogues import text_uses

LANGUAGES = list(i18n.LANGUAGES)
_EXAMPLE = re.compile(r"<code>(/[^<]*)</code>")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
STAND_IN = "https://example.coop/"

# (variable of texts.py, which <code> example of it): forms to fill in, not commands to run
FORMS = {
    ("ADD_USAGE", 0): "the one-line /add's fields",
    ("ADD_USAGE", 2): "an /add whose fields are left out (…)",
    ("PHOTO_HINT", 0): "a photo's caption form",
    ("HELP_ADMIN_PICTURES", 0): "a photo's caption form",
    ("ADMINS_USAGE", 1): "sent as a reply to someone's message",
    ("CORRECT_LIST_HEADER", 0): "NUMBER",
    ("FEEDS_USAGE", 1): "[category]",
    ("FEEDS_FOOTER", 0): "<number>",
    ("FEEDS_REMOVE_USAGE", 0): "<number>",
    ("FILTER_UNKNOWN_TERM", 0): "a term the chat has",
    ("TRANSLATE_USAGE", 1): "the one-line /translate's fields",
    ("SCHEDULED_VERSIONS_HINT", 0): "the scheduled item the admin has just made",
    ("ADMIN_ALREADY", 0): "names the command; its arguments are the usage's",
}
# what a placeholder in an example stands for when it is sent
FILLS = {"bot_username": (BOT_USERNAME,), "command": ("edit", "delete"), "id": ("3",)}


def _failures() -> tuple[str, ...]:
    """The replies that say a command failed, or found or did nothing."""
    return (
        texts.UNKNOWN_COMMAND,
        texts.PLAIN_TEXT_HINT,
        texts.INTERNAL_ERROR,
        texts.STORE_UNAVAILABLE,
        texts.NOT_ADMIN,
        texts.NOT_OWNER,
        texts.FLOW_PRIVATE_ONLY,
        texts.LATEST_BAD_NUMBER,
        texts.NO_ITEMS,
        texts.NO_ITEMS_IN_LANGUAGES,
        texts.NO_ITEMS_IN_CATEGORY,
        texts.CATEGORY_NONE,
        texts.CATEGORY_UNKNOWN,
        texts.CATEGORY_AMBIGUOUS,
        texts.CATEGORY_NAME_TOO_LONG,
        texts.ADD_USAGE,
        texts.ADD_PROBLEM,
        texts.ADD_DUPLICATE,
        texts.ADMINS_USAGE,
        texts.ADMINS_BAD_ID,
        texts.ADMIN_NOT_FOUND,
        texts.CORRECT_NO_ITEMS,
        texts.CORRECT_BAD_NUMBER,
        texts.CORRECT_UNKNOWN,
        texts.FEEDS_USAGE,
        texts.FEEDS_ADD_FAILED,
        texts.FEEDS_REMOVE_USAGE,
        texts.FEEDS_UNKNOWN,
        texts.SUBSCRIBE_UNKNOWN,
        texts.SUBSCRIBE_AMBIGUOUS,
        texts.SUBSCRIBE_NAME_TOO_LONG,
        texts.NOT_SUBSCRIBED,
        texts.NOT_SUBSCRIBED_ANY,
        texts.LANGUAGE_UNKNOWN,
        texts.SEARCH_HELP,
        texts.SEARCH_NOTHING,
        texts.SEARCH_NO_MATCH,
        texts.SEARCH_NO_MATCH_IN_LANGUAGES,
        texts.QUIET_BAD_FORM,
        texts.QUIET_EMPTY_WINDOW,
        texts.QUIET_ALREADY_OFF,
        texts.FILTER_USAGE,
        texts.FILTER_ONLY_PUNCTUATION,
        texts.FILTER_TOO_LONG,
        texts.FILTER_TOO_MANY,
        texts.FILTER_UNKNOWN_TERM,
        texts.FILTER_NOTHING_TO_CLEAR,
        texts.DIGEST_BAD_INPUT,
        texts.TIMEZONE_UNKNOWN,
        texts.TRANSLATE_USAGE,
        texts.TRANSLATE_BAD_NUMBER,
        texts.TRANSLATE_UNKNOWN,
        texts.TRANSLATE_TAKEN,
        texts.TRANSLATE_SCHEDULED_UNKNOWN,
        texts.TRANSLATE_SCHEDULED_TAKEN,
    )


def _pattern(template: str) -> re.Pattern[str]:
    """A reply that starts as `template` does, whatever its placeholders hold."""
    pieces = _PLACEHOLDER.split(template)
    literal = pieces[::2]  # split keeps the names at odd places
    return re.compile(".*?".join(re.escape(piece) for piece in literal), re.S)


def failure_patterns(language: str) -> list[tuple[str, re.Pattern[str]]]:
    tr = i18n.translator(language)
    return [(tr(failure)[:60], _pattern(tr(failure))) for failure in _failures()]


@dataclass(frozen=True)
class Example:
    variable: str
    index: int  # which <code> example of the text
    command: str  # as it is sent

    @property
    def needs_category_names(self) -> bool:
        """A category named in the chat's language: `/category travail décent`."""
        return self.command.startswith("/category ")


def _filled(example: str) -> Iterator[str]:
    names = _PLACEHOLDER.findall(example)
    unknown = set(names) - set(FILLS)
    assert not unknown, f"say in FILLS what {unknown} stands for in {example!r}"
    if not names:
        yield example
        return
    for value in FILLS[names[0]]:
        yield from _filled(example.replace("{" + names[0] + "}", value))


def examples(language: str) -> list[Example]:
    """Each distinct example, in the order texts.py shows them, with placeholders filled."""
    tr = i18n.translator(language)
    found: dict[str, Example] = {}
    for message, uses in text_uses().items():
        for index, code in enumerate(_EXAMPLE.findall(tr(message))):
            variable = uses[0].name
            if (variable, index) in FORMS:
                continue
            for command in _filled(html.unescape(code)):
                found.setdefault(command, Example(variable, index, command))
    return list(found.values())


# -- running them ------------------------------------------------------------------------------


async def _send(chat: Chatter, command: str) -> list[str]:
    """Send a command and return what the bot answered (some answers come after the update is
    handled, like /feeds add's)."""
    harness = chat.harness
    before = harness.message_count(chat.chat_id)
    await chat.send(command)
    await harness.emu.wait_for_messages(chat.chat_id, before + 1, timeout=15)
    await harness.settle()
    return [m.html or m.text for m in harness.emu.messages(chat.chat_id)[before:]]


def _served(command: str, feeds: FeedServer) -> str:
    """The example feed's stand-in address, served for real by the local feed server."""
    if STAND_IN not in command:
        return command
    path = command.split(STAND_IN, 1)[1].split()[0]
    return command.replace(STAND_IN + path, feeds.serve_fixture(path, "rss2.xml"))


async def _run(language: str, database_url: str, wanted: list[Example]) -> list[str]:
    """Run the examples in one chat; what went wrong, one line each."""
    failures = failure_patterns(language)
    problems = []
    async with serving_feeds() as feeds, bot_harness(database_url) as harness:
        services = harness.application.bot_data["services"]
        await seed(services.news, services.categories)
        chat = harness.admin(language_code=language)
        for example in wanted:
            command = _served(example.command, feeds)
            if command.startswith("/filter remove "):  # taking a term away presumes it is there
                await _send(chat, "/filter add " + command.removeprefix("/filter remove "))
            replies = await _send(chat, command)
            for reply in replies:
                failed = [said for said, pattern in failures if pattern.match(reply)]
                if failed:
                    problems.append(
                        f"{example.variable} example {example.index} {example.command!r} "
                        f"answered {failed[0]!r}…: {reply[:160]!r}"
                    )
            if command.startswith(("/edit", "/delete", "/translate")):
                await _send(chat, "/cancel")
            if command.startswith("/language"):  # the example switched the chat: come back
                await _send(chat, f"/language {language}")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_example_gives_a_real_answer(database_url: str, language: str) -> None:
    wanted = [e for e in examples(language) if not e.needs_category_names]
    assert len(wanted) > 30, [e.command for e in wanted]  # the examples were found
    problems = await _run(language, database_url, wanted)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_category_examples_find_the_category(database_url: str, language: str) -> None:
    # /help's `/category travail décent` names the sample's "Decent work" in French
    wanted = [e for e in examples(language) if e.needs_category_names]
    assert wanted, "no /category example left in the texts"
    problems = await _run(language, database_url, wanted)
    assert not problems, "\n".join(problems)


# -- the examples and the lists above stay true -------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_gives_the_same_examples(language: str) -> None:
    # the same (variable, index) pairs: a form in English is a form in every language
    english = {(e.variable, e.index) for e in examples("en")}
    assert {(e.variable, e.index) for e in examples(language)} == english


def test_forms_name_real_examples() -> None:
    every = {
        (uses[0].name, index)
        for message, uses in text_uses().items()
        for index, _code in enumerate(_EXAMPLE.findall(message))
    }
    assert set(FORMS) <= every, sorted(set(FORMS) - every)


def test_a_failure_reply_is_recognised() -> None:
    failures = failure_patterns("fr")
    french = i18n.translator("fr")
    nothing = french(texts.SEARCH_NO_MATCH, query="zèbre")
    assert [said for said, pattern in failures if pattern.match(nothing)]
    listing = french(texts.LATEST_HEADER)
    assert not [said for said, pattern in failures if pattern.match(listing)]


# -- the day names texts ask for are the ones the parser takes --------------------------------

DAYS_ASKED = {
    "en": "mon tue wed thu fri sat sun",
    "fr": "lun mar mer jeu ven sam dim",
    "es": "lun mar mié jue vie sáb dom",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_day_names_of_each_language_are_understood(language: str) -> None:
    asked = DAYS_ASKED[language].split()
    hint = i18n.translator(language)(texts.DIGEST_PROBLEM_WEEKDAY, text="x")
    assert all(day in hint for day in asked), hint  # the hint names these days
    assert [parse_weekday(day) for day in asked] == list(range(7))
    # and the names the bot itself shows ("chaque lundi", "cada miércoles"), as CLDR writes
    # them, full or short, in any case
    for width in ("wide", "abbreviated"):
        names = get_day_names(width, locale=language)
        assert [parse_weekday(names[day]) for day in range(7)] == list(range(7)), names
        assert [parse_weekday(names[day].upper()) for day in range(7)] == list(range(7))
