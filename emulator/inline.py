"""Inline mode: ``inline_query`` updates, ``answerInlineQuery`` and chosen results.

The user side types a query (:meth:`InlineSide.inline_query`), the bot answers with
``answerInlineQuery`` (checked against Telegram's limits and errors), and the user may choose
a result (:meth:`InlineSide.choose_inline_result`): its message is posted into the target
chat "via @bot", as Telegram does, and, with inline feedback on (BotFather's
``/setinlinefeedback``), a ``chosen_inline_result`` update goes to the bot.

Switches on the emulator: ``inline_mode`` (BotFather's ``/setinline``, reported by getMe;
on, unlike a new bot, since the bots tested here use it), ``inline_feedback`` (off),
``inline_cache`` (on: a repeated query within the answer's ``cache_time`` is answered from the
cache without reaching the bot, per user when the answer was ``is_personal``) and
``inline_query_timeout`` (seconds within which an answer is accepted, 10 as on Telegram).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request
from .methods import _render_text, _valid_url, _validate_button
from .params import Params
from .state import EmulatorState
from .user import UserSide

__all__ = ["INLINE_METHODS", "InlineAnswer", "InlinePost", "InlineResult", "InlineSide"]

MAX_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_NEXT_OFFSET_BYTES = 64
MAX_QUERY_LENGTH = 256
MAX_CAPTION_LENGTH = 1024
DEFAULT_CACHE_TIME = 300  # seconds Telegram keeps an answer that gave no cache_time
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_START_PARAMETER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})
# every result type the Bot API knows; the emulator checks article and photo in depth
_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)


@dataclass(slots=True)
class InlineResult:
    """One result as the emulator accepted it, with its message already parsed."""

    id: str
    type: str
    raw: dict[str, Any]
    text: str | None = None  # the message content; None: a photo result without text content
    entities: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None
    link_preview_options: dict[str, Any] | None = None
    reply_markup: list[list[dict[str, Any]]] | None = None

    @property
    def title(self) -> str | None:
        return self.raw.get("title")

    @property
    def description(self) -> str | None:
        return self.raw.get("description")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.reply_markup or () for button in row]


@dataclass(slots=True)
class InlineAnswer:
    """What the bot answered to one inline query."""

    query_id: str
    results: list[InlineResult]
    next_offset: str
    cache_time: int | None
    is_personal: bool
    button: dict[str, Any] | None
    received_at: float
    query: str = ""
    offset: str = ""
    from_cache: bool = False  # served by "Telegram" from an earlier answer; the bot never saw it

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.results]

    def result(self, result_id: str) -> InlineResult:
        for result in self.results:
            if result.id == result_id:
                return result
        raise LookupError(f"no result {result_id!r} in {self.ids}")


@dataclass(slots=True)
class InlinePost:
    """A message a user posted by choosing an inline result (``via_bot``)."""

    chat_id: int
    message_id: int
    user_id: int
    result_id: str
    text: str
    entities: list[dict[str, Any]]
    html: str | None
    reply_markup: list[list[dict[str, Any]]] | None
    link_preview_options: dict[str, Any] | None
    inline_message_id: str | None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.reply_markup or () for button in row]


@dataclass(slots=True)
class _Query:
    user: dict[str, Any]
    query: str
    offset: str
    created_at: float  # monotonic
    answered: bool = False


# -- answerInlineQuery ----------------------------------------------------------------------


def _message_content(state: EmulatorState, content: Any, result: InlineResult) -> None:
    if not isinstance(content, dict):
        raise bad_request("can't parse inline query result: input_message_content expected")
    if "message_text" not in content:
        raise bad_request("can't parse InputMessageContent: unsupported message content type")
    text, entities, html, _mode = _render_text(
        state, Params({**content, "text": content.get("message_text")})
    )
    result.text, result.entities, result.html = text, entities, html
    result.link_preview_options = content.get("link_preview_options")
    if content.get("disable_web_page_preview") and result.link_preview_options is None:
        result.link_preview_options = {"is_disabled": True}


def _caption(state: EmulatorState, raw: dict[str, Any], result: InlineResult) -> None:
    caption = raw.get("caption")
    if caption is None:
        return
    try:
        text, entities, html, _mode = _render_text(
            state, Params({"text": caption, "parse_mode": raw.get("parse_mode")})
        )
    except ApiError as exc:
        if "too long" in exc.description:
            raise bad_request("MEDIA_CAPTION_TOO_LONG") from None
        raise
    if len(text.encode("utf-16-le")) // 2 > MAX_CAPTION_LENGTH:
        raise bad_request("MEDIA_CAPTION_TOO_LONG")
    result.text, result.entities, result.html = text, entities, html


def _result(state: EmulatorState, raw: Any) -> InlineResult:
    if not isinstance(raw, dict):
        raise bad_request("can't parse inline query result: Object expected")
    kind = raw.get("type")
    if kind not in _RESULT_TYPES:
        raise bad_request("RESULT_TYPE_INVALID")
    result_id = raw.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= MAX_RESULT_ID_BYTES:
        raise bad_request("RESULT_ID_INVALID")
    result = InlineResult(result_id, kind, raw)
    markup = raw.get("reply_markup")
    if markup is not None:
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("REPLY_MARKUP_INVALID")
        result.reply_markup = [[_validate_button(b) for b in row] for row in rows if row] or None
    if kind == "article":
        if not isinstance(raw.get("title"), str) or not raw["title"].strip():
            raise bad_request("RESULT_TITLE_EMPTY")
        if "url" in raw and not _valid_url(raw["url"]):
            raise bad_request("RESULT_URL_INVALID")
        _message_content(state, raw.get("input_message_content"), result)
    elif kind == "photo":
        if "photo_file_id" in raw:  # InlineQueryResultCachedPhoto
            if not isinstance(raw["photo_file_id"], str) or not raw["photo_file_id"]:
                raise bad_request("PHOTO_INVALID")
        else:
            if not _valid_url(raw.get("photo_url")):
                raise bad_request("PHOTO_URL_INVALID")
            if not _valid_url(raw.get("thumbnail_url")):
                raise bad_request("PHOTO_THUMB_URL_INVALID")
        _caption(state, raw, result)
        if raw.get("input_message_content") is not None:
            _message_content(state, raw["input_message_content"], result)
    return result


def _button(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse inline query results button JSON object")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    has_start = "start_parameter" in raw
    if has_start == ("web_app" in raw):
        raise bad_request(
            "can't parse inline query results button: exactly one of "
            "web_app and start_parameter must be used"
        )
    if has_start:
        parameter = raw["start_parameter"]
        if not isinstance(parameter, str) or not parameter:
            raise bad_request("START_PARAM_EMPTY")
        if not _START_PARAMETER_RE.fullmatch(parameter):
            raise bad_request("START_PARAM_INVALID")
    return dict(raw)


def answer_inline_query(state: EmulatorState, p: Params) -> Any:
    if not isinstance(state, InlineSide):  # the method table is typed for any state
        raise TypeError("answerInlineQuery needs an emulator with an inline side")
    try:
        return _answer(state, p)
    except ApiError as exc:  # kept, so a user waiting for the answer learns why none came
        state.inline_errors[p.get_str("inline_query_id", "")] = exc.description
        raise


def _answer(state: InlineSide, p: Params) -> Any:
    query_id = p.get_str("inline_query_id", "")
    query = state._inline_queries.get(query_id)
    timeout = state.inline_query_timeout
    if query is None or query.answered or p.received_at - query.created_at > timeout:
        raise bad_request(QUERY_TOO_OLD)
    results = p.get_json("results")
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    next_offset = p.get_str("next_offset") or ""
    if len(next_offset.encode()) > MAX_NEXT_OFFSET_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    cache_time = p.get_int("cache_time")
    if cache_time is not None and cache_time < 0:
        raise bad_request("CACHE_TIME_INVALID")
    accepted = [_result(state, raw) for raw in results]
    ids = [r.id for r in accepted]
    if len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    button = _button(p.get_json("button"))
    if button is None and p.get_str("switch_pm_text"):  # the pre-6.7 form of the button
        button = _button(
            {
                "text": p.get_str("switch_pm_text"),
                "start_parameter": p.get_str("switch_pm_parameter"),
            }
        )
    query.answered = True
    answer = InlineAnswer(
        query_id=query_id,
        results=accepted,
        next_offset=next_offset,
        cache_time=cache_time,
        is_personal=p.get_bool("is_personal"),
        button=button,
        received_at=p.received_at,
        query=query.query,
        offset=query.offset,
    )
    state.inline_answers[query_id] = answer
    seconds = DEFAULT_CACHE_TIME if cache_time is None else cache_time
    if seconds > 0:
        key = (query.query, query.offset, query.user["id"] if answer.is_personal else None)
        state._inline_cache[key] = (p.received_at + seconds, answer)
    return True


INLINE_METHODS = {"answerinlinequery": answer_inline_query}


# -- the user side -------------------------------------------------------------------------


class InlineSide(UserSide):
    """What users do in inline mode: type a query, choose a result."""

    _inline_ids = itertools.count(7_000_000_000_000_000_001)
    _inline_message_ids = itertools.count(1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline_mode = True  # BotFather's /setinline (off: users cannot query the bot)
        self.inline_feedback = False  # BotFather's /setinlinefeedback: chosen_inline_result
        self.inline_query_timeout = 10.0  # an answer later than this is "query is too old"
        # Telegram answers a query it saw within the last answer's cache_time itself (per
        # user when that answer was is_personal); off: every query reaches the bot
        self.inline_cache = True
        self._inline_cache: dict[tuple[str, str, int | None], tuple[float, InlineAnswer]] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}
        self.inline_errors: dict[str, str] = {}  # query id → last refusal of an answer
        self.inline_posts: list[InlinePost] = []
        self._inline_queries: dict[str, _Query] = {}

    def send_inline_query(
        self,
        query: str,
        *,
        user_id: int,
        offset: str = "",
        chat_type: str | None = "sender",
        first_name: str = "Test",
        username: str | None = None,
        language_code: str | None = None,
    ) -> str:
        """Queue an ``inline_query`` update as if ``user_id`` typed ``@bot query``; returns
        its id. ``chat_type`` is where the user types (None: unknown, as Telegram leaves it
        for secret chats). A query answered within the answer's ``cache_time`` (for this user
        if it was personal) is answered from that cache at once, and the bot sees nothing."""
        if not self.inline_mode:
            raise RuntimeError("inline mode is off for this bot (BotFather's /setinline)")
        if len(query) > MAX_QUERY_LENGTH:
            raise ValueError(f"an inline query has at most {MAX_QUERY_LENGTH} characters")
        if chat_type is not None and chat_type not in _CHAT_TYPES:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        user = self._remember_user(user_id, first_name, username, language_code=language_code)
        query_id = str(next(self._inline_ids))
        now = time.monotonic()
        self._inline_queries[query_id] = _Query(user, query, offset, now)
        cached = self._cached_answer(query, offset, user_id, now)
        if cached is not None:
            self._inline_queries[query_id].answered = True
            self.inline_answers[query_id] = dataclasses.replace(
                cached, query_id=query_id, from_cache=True
            )
            self.notify_changed()
            return query_id
        payload: dict[str, Any] = {"id": query_id, "from": user, "query": query, "offset": offset}
        if chat_type is not None:
            payload["chat_type"] = chat_type
        self.queue_update("inline_query", payload)
        return query_id

    def _cached_answer(
        self, query: str, offset: str, user_id: int, now: float
    ) -> InlineAnswer | None:
        if not self.inline_cache:
            return None
        for key in ((query, offset, user_id), (query, offset, None)):
            entry = self._inline_cache.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
        return None

    async def inline_query(
        self,
        query: str,
        *,
        user_id: int,
        offset: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> InlineAnswer:
        """Type an inline query and wait for the bot's accepted answer (TimeoutError if it
        does not answer, ApiError with Telegram's refusal if its answer was refused)."""
        query_id = self.send_inline_query(query, user_id=user_id, offset=offset, **kwargs)
        await self.wait_for(
            lambda: query_id in self.inline_answers or query_id in self.inline_errors,
            timeout,
            f"an answer to inline query {query!r} (offset {offset!r})",
        )
        if query_id not in self.inline_answers:
            raise ApiError(400, self.inline_errors[query_id])
        return self.inline_answers[query_id]

    def choose_inline_result(
        self,
        answer: InlineAnswer,
        result_id: str,
        *,
        chat_id: int,
        chat_type: str = "supergroup",
        chat_title: str | None = None,
    ) -> InlinePost:
        """Choose a result of ``answer`` in chat ``chat_id``: its message is posted there by
        the user "via" the bot (delivered to the bot as a message if it is in that chat), and
        a ``chosen_inline_result`` update follows when ``inline_feedback`` is on."""
        result = answer.result(result_id)
        as_photo = result.type == "photo" and result.raw.get("input_message_content") is None
        if result.text is None and not as_photo:
            raise ValueError(f"the emulator cannot post a {result.type} result")
        query = self._inline_queries[answer.query_id]
        user = self._users[query.user["id"]]
        bot_in_chat = chat_id in self._chats and self.member_status(chat_id, self.bot_id) not in (
            "left",
            "kicked",
        )
        chat = self.register_chat(chat_id, chat_type, chat_title)
        inline_message_id = (
            f"AgAAA{next(self._inline_message_ids):012d}" if result.reply_markup else None
        )
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": self.now(),
            "via_bot": self.bot_user,
        }
        if as_photo:  # the photo itself, its caption under it
            file_id = result.raw.get("photo_file_id") or f"inline-photo-{result.id}"
            message["photo"] = [
                {"file_id": file_id, "file_unique_id": file_id[-16:], "width": 1, "height": 1}
            ]
            if result.text:
                message["caption"] = result.text
            if result.entities:
                message["caption_entities"] = result.entities
        else:
            message["text"] = result.text
            if result.entities:
                message["entities"] = result.entities
            if result.link_preview_options:
                message["link_preview_options"] = result.link_preview_options
        if result.reply_markup:
            message["reply_markup"] = {"inline_keyboard": result.reply_markup}
        self._user_messages[(chat_id, message["message_id"])] = message
        post = InlinePost(
            chat_id=chat_id,
            message_id=message["message_id"],
            user_id=user["id"],
            result_id=result_id,
            text=result.text or "",
            entities=result.entities,
            html=result.html,
            reply_markup=result.reply_markup,
            link_preview_options=result.link_preview_options,
            inline_message_id=inline_message_id,
        )
        self.inline_posts.append(post)
        if bot_in_chat:  # the bot sees messages sent via itself, even in privacy mode
            self.queue_update("message", message)
        if self.inline_feedback:
            chosen: dict[str, Any] = {"result_id": result_id, "from": user, "query": query.query}
            if inline_message_id is not None:
                chosen["inline_message_id"] = inline_message_id
            self.queue_update("chosen_inline_result", chosen)
        self.notify_changed()
        return post
