"""Callback data for inline buttons: the one codec for every button the bot makes.

Data is a short, versioned string, `v1:<kind>:<fields…>`, within Telegram's 64 bytes. The
version prefix lets buttons from an older release fail politely ("this button has expired")
instead of doing something unexpected; so does anything forged or truncated.

    v1:more:<a|category id>:<limit>:<published µs>:<item id>   MorePage (lists)
    v1:cat:<category id>                                    ShowCategory (lists)
    v1:sub:<a|category id>[:<chat id>]   v1:sub:done         Toggle, Close (subscriptions)
    v1:<add|ed|del>:<action>[:<argument>]                   FlowButton (/add, /edit, /delete)
    v1:lang:<ui|news>:<code>                                ChooseLanguage (/language)
    v1:srch:<search id>:<search cursor>                     SearchMore (/search)
    v1:dg:<off|daily|weekly>[:<weekday>][:<minute>]          DigestChoice (/digest)
    v1:tz:<IANA zone>                                       ChooseZone (/timezone)
    v1:flt:rm:<term id>   v1:flt:clear                       FilterButton (/filter)
    v1:catn:<category id>[:<en|fr|es>]                       NameCategory (/categories)
    v1:fgt:<yes|no>:<chat id>:<stamp>                        ForgetChoice (/forget)
    v1:rv:<a|c|r|e>:<draft id>:<revision>                    ReviewButton (the review queue)
    v1:rvq:<after draft id>                                 QueuePage (/queue)
    v1:sug:<draft|dismiss>:<suggestion id>                   SuggestionChoice (suggestions)
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton
from telegram.constants import InlineKeyboardButtonLimit

from bot.i18n import LANGUAGES, NEWS_CHOICES
from bot.services.search import SearchCursor
from bot.services.views import Cursor

VERSION = "v1"
MAX_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64
ALL = "a"
# the guided /add, the guided /edit, /delete's confirmation
FLOWS = frozenset({"add", "ed", "del"})


class StaleCallback(ValueError):
    """Data that this release did not make: forged, truncated or from an older version."""


@dataclass(frozen=True, slots=True)
class MorePage:
    """ "More" under a list: the next `limit` items after `cursor`, in one category or all."""

    category_id: int | None
    limit: int
    cursor: Cursor


@dataclass(frozen=True, slots=True)
class ShowCategory:
    category_id: int


@dataclass(frozen=True, slots=True)
class Toggle:
    """Follow or stop following a category (None: all) in this chat or, for a bot admin,
    in another chat (a channel) named by `chat_id`."""

    category_id: int | None
    chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """ "Done" under the subscriptions keyboard."""


@dataclass(frozen=True, slots=True)
class FlowButton:
    """A step's button in a guided flow: which flow, what it does, and on what."""

    flow: str
    action: str
    argument: str | None = None


@dataclass(frozen=True, slots=True)
class ChooseLanguage:
    """/language: speak `code` in this chat (`news` False), or toggle whether the chat gets
    news written in `code` (`news` True; "other" stands for every other language)."""

    code: str
    news: bool = False


@dataclass(frozen=True, slots=True)
class SearchMore:
    """ "More" under /search results: the search's text is kept in a row (`search_id`), as
    it may be far longer than callback data; `cursor` is where the last page stopped."""

    search_id: int
    cursor: SearchCursor


@dataclass(frozen=True, slots=True)
class DigestChoice:
    """/digest's keyboard: "off", or a mode and, step by step, its weekday (weekly: 0 =
    Monday) and its time (minutes after local midnight); a missing part asks for it."""

    mode: str
    weekday: int | None = None
    minute: int | None = None


@dataclass(frozen=True, slots=True)
class ChooseZone:
    """/timezone's suggestions: use this IANA zone."""

    name: str


DIGEST_MODES = ("off", "daily", "weekly")


@dataclass(frozen=True, slots=True)
class FilterButton:
    """/filter's keyboard: remove one term (by its row id; the text may be far longer than
    callback data), or clear them all (`term_id` None)."""

    term_id: int | None = None


@dataclass(frozen=True, slots=True)
class NameCategory:
    """/categories' buttons: name this category (which language?), or, with `language`, in
    that language (the name is typed next)."""

    category_id: int
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ForgetChoice:
    """/forget's question: erase this chat's data (`erase`), or keep it. `chat_id` and
    `stamp` (when the chat was recorded, in µs) name the chat as it was when asked: another
    chat's button, or one pressed again after the erase, does nothing."""

    erase: bool
    chat_id: int
    stamp: int


@dataclass(frozen=True, slots=True)
class ReviewButton:
    """A decision on revision `revision` of draft `submission_id`: approve (a), request
    changes (c), reject (r); or its author's edit (e) to submit it again."""

    action: str
    submission_id: int
    revision: int


REVIEW_ACTIONS = frozenset({"a", "c", "r", "e"})


@dataclass(frozen=True, slots=True)
class QueueMore:
    """The next drafts of /queue after draft `after_id`."""

    after_id: int


@dataclass(frozen=True, slots=True)
class SuggestionChoice:
    """An editor's Draft or Dismiss under a member's suggestion."""

    action: str  # "draft" or "dismiss"
    suggestion_id: int


SUGGESTION_ACTIONS = ("draft", "dismiss")


Callback = (
    MorePage
    | ShowCategory
    | Toggle
    | Close
    | FlowButton
    | ChooseLanguage
    | SearchMore
    | DigestChoice
    | ChooseZone
    | FilterButton
    | NameCategory
    | ForgetChoice
    | ReviewButton
    | QueueMore
    | SuggestionChoice
)


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def encode(action: Callback) -> str:
    """The callback data of a button; ValueError when it would not fit Telegram's limit."""
    match action:
        case MorePage(category_id, limit, cursor):
            scope = ALL if category_id is None else str(category_id)
            return _checked(
                f"{VERSION}:more:{scope}:{limit}:{cursor.published_us}:{cursor.item_id}"
            )
        case ShowCategory(category_id):
            return _checked(f"{VERSION}:cat:{category_id}")
        case Toggle(category_id, chat_id):
            scope = ALL if category_id is None else str(category_id)
            chat = "" if chat_id is None else f":{chat_id}"
            return _checked(f"{VERSION}:sub:{scope}{chat}")
        case Close():
            return f"{VERSION}:sub:done"
        case FlowButton(flow, action_name, argument):
            parts = [flow, action_name] + ([] if argument is None else [argument])
            if flow not in FLOWS or any(":" in part or not part for part in parts):
                raise ValueError(f"not a flow button: {parts!r}")
            return _checked(":".join([VERSION, *parts]))
        case ChooseLanguage(code, news):
            return _checked(f"{VERSION}:lang:{'news' if news else 'ui'}:{code}")
        case SearchMore(search_id, cursor):
            return _checked(f"{VERSION}:srch:{search_id}:{cursor.encode()}")
        case DigestChoice(mode, weekday, minute):
            parts = [mode]
            if mode == "weekly" and weekday is not None:
                parts.append(str(weekday))
            if mode != "off" and minute is not None:
                parts.append(str(minute))
            return _checked(":".join([VERSION, "dg", *parts]))
        case ChooseZone(name):
            if ":" in name or not name:
                raise ValueError(f"not a time zone: {name!r}")
            return _checked(f"{VERSION}:tz:{name}")
        case FilterButton(term_id):
            verb = "clear" if term_id is None else f"rm:{term_id}"
            return _checked(f"{VERSION}:flt:{verb}")
        case NameCategory(category_id, language):
            tail = "" if language is None else f":{language}"
            return _checked(f"{VERSION}:catn:{category_id}{tail}")
        case ForgetChoice(erase, chat_id, stamp):
            return _checked(f"{VERSION}:fgt:{'yes' if erase else 'no'}:{chat_id}:{stamp}")
        case ReviewButton(action_name, submission_id, revision):
            if action_name not in REVIEW_ACTIONS:
                raise ValueError(f"not a review action: {action_name!r}")
            return _checked(f"{VERSION}:rv:{action_name}:{submission_id}:{revision}")
        case QueueMore(after_id):
            return _checked(f"{VERSION}:rvq:{after_id}")
        case SuggestionChoice(verb, suggestion_id) if verb in SUGGESTION_ACTIONS:
            return _checked(f"{VERSION}:sug:{verb}:{suggestion_id}")
    raise TypeError(f"no callback data for {action!r}")


def _number(text: str, *, low: int = 0, high: int = 2**63 - 1, zero: bool = True) -> int:
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 20:
        raise StaleCallback(text)
    value = int(text)
    if not low <= value <= high or (value == 0 and not zero):
        raise StaleCallback(text)
    return value


def _scope(text: str) -> int | None:
    return None if text == ALL else _number(text, low=1, high=2**31 - 1)


def _decode(parts: list[str], max_limit: int) -> Callback:
    match parts:
        case ["more", scope, limit, published_us, item_id]:
            return MorePage(
                category_id=_scope(scope),
                limit=_number(limit, low=1, high=max_limit),
                cursor=Cursor(_number(published_us, low=-(2**62), high=2**62), _number(item_id)),
            )
        case ["cat", category_id]:
            return ShowCategory(_number(category_id, low=1))
        case ["sub", "done"]:
            return Close()
        case ["sub", scope]:
            return Toggle(_scope(scope))
        case ["sub", scope, chat_id]:
            return Toggle(_scope(scope), _number(chat_id, low=-(2**52), high=2**52, zero=False))
        case ["lang", "ui", code] if code in LANGUAGES:
            return ChooseLanguage(code)
        case ["lang", "news", code] if code in NEWS_CHOICES:
            return ChooseLanguage(code, news=True)
        case ["srch", search_id, cursor]:
            try:
                position = SearchCursor.decode(cursor)
            except ValueError:
                raise StaleCallback(cursor) from None
            return SearchMore(_number(search_id, low=1), position)
        case ["dg", "off"]:
            return DigestChoice("off")
        case ["dg", "daily"]:
            return DigestChoice("daily")
        case ["dg", "daily", minute]:
            return DigestChoice("daily", None, _number(minute, high=24 * 60 - 1))
        case ["dg", "weekly"]:
            return DigestChoice("weekly")
        case ["dg", "weekly", weekday]:
            return DigestChoice("weekly", _number(weekday, high=6))
        case ["dg", "weekly", weekday, minute]:
            return DigestChoice("weekly", _number(weekday, high=6), _number(minute, high=1439))
        case ["tz", name] if name and name.isascii() and len(name) <= 64:
            return ChooseZone(name)
        case ["flt", "clear"]:
            return FilterButton()
        case ["flt", "rm", term_id]:
            return FilterButton(_number(term_id, low=1))
        case ["catn", category_id]:
            return NameCategory(_number(category_id, low=1))
        case ["catn", category_id, language] if language in LANGUAGES:
            return NameCategory(_number(category_id, low=1), language)
        case ["fgt", ("yes" | "no") as answer, chat_id, stamp]:
            return ForgetChoice(
                answer == "yes",
                _number(chat_id, low=-(2**52), high=2**52, zero=False),
                _number(stamp, low=1),
            )
        case ["rv", action, submission_id, revision] if action in REVIEW_ACTIONS:
            return ReviewButton(
                action, _number(submission_id, low=1), _number(revision, low=1, high=2**31)
            )
        case ["rvq", after_id]:
            return QueueMore(_number(after_id))
        case ["sug", verb, suggestion_id] if verb in SUGGESTION_ACTIONS:
            return SuggestionChoice(verb, _number(suggestion_id, low=1))
        case [flow, action] if flow in FLOWS and action:
            return FlowButton(flow, action)
        case [flow, action, argument] if flow in FLOWS and action and argument:
            return FlowButton(flow, action, argument)
    raise StaleCallback(":".join(parts))


def decode(
    data: str | None,
    expected: tuple[type, ...] = (
        MorePage,
        ShowCategory,
        Toggle,
        Close,
        FlowButton,
        ChooseLanguage,
        SearchMore,
        DigestChoice,
        ChooseZone,
        FilterButton,
        NameCategory,
        ForgetChoice,
        ReviewButton,
        QueueMore,
        SuggestionChoice,
    ),
    *,
    max_limit: int = 100,
) -> Callback:
    """Parse data made by `encode`. Anything else, or a kind the caller does not handle
    (`expected`), raises StaleCallback: the button has expired."""
    if not data:
        raise StaleCallback("empty")
    parts = data.split(":")
    if parts[0] != VERSION or len(parts) < 3:
        raise StaleCallback(data)
    action = _decode(parts[1:], max_limit)
    if not isinstance(action, expected):
        raise StaleCallback(data)
    return action


# -- the guided flows' buttons, as their step functions use them ------------------------------


def button_data(flow: str, action: str, argument: str | int | None = None) -> str:
    return encode(FlowButton(flow, action, None if argument is None else str(argument)))


def parse_button(data: str | None) -> tuple[str, str, str | None]:
    """(flow, action, argument) of data made by `button_data`; else StaleCallback."""
    button = decode(data, (FlowButton,))
    assert isinstance(button, FlowButton)
    return button.flow, button.action, button.argument


def button(
    label: str, flow: str, action: str, argument: str | int | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=button_data(flow, action, argument))
