"""Bot API method implementations: ``handler(state, params) -> result`` or raise ApiError."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from .errors import ApiError, bad_request
from .files import NO_PHOTO
from .html import HtmlParseError, parse_html, strip_message_text, utf16_len
from .models import SentMessage
from .params import Params
from .shapes import chat_full_info, chat_member
from .state import EmulatorState
from .webhook import LOOPBACK_HOSTS

__all__ = ["ASYNC_METHODS", "FAULTABLE", "METHODS", "RATE_LIMITED"]

Handler = Callable[[EmulatorState, Params], Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
DELETE_WINDOW_SECONDS = 48 * 3600

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
TERMINATED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS = 100
MAX_SECRET_TOKEN_LENGTH = 256
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


# -- helpers -------------------------------------------------------------------------------


def _chat(state: EmulatorState, p: Params) -> dict[str, Any]:
    raw = p.raw.get("chat_id")
    if raw is None or raw == "":
        raise bad_request("chat_id is empty")
    if isinstance(raw, str) and raw.startswith("@"):
        chat = state.find_chat_by_username(raw)
    else:
        chat = state.chat(p.require_int("chat_id"))
    if chat is None:
        raise bad_request("chat not found")
    return chat


def _render_text(
    state: EmulatorState, p: Params
) -> tuple[str, list[dict[str, Any]], str | None, str | None]:
    """Return (plain text, entities, html source, parse_mode) after Telegram's checks."""
    source = p.get_str("text")
    if not source:
        raise bad_request("message text is empty")
    text, entities, html, parse_mode = _formatted(
        state, source, p.get_str("parse_mode") or None, p.get_json("entities")
    )
    if not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, entities, html, parse_mode


def _render_caption(
    state: EmulatorState, source: str | None, parse_mode: str | None, entities: Any
) -> tuple[str | None, list[dict[str, Any]], str | None, str | None]:
    """(caption, caption entities, html source, parse_mode); no caption is allowed."""
    if not source:
        return None, [], None, parse_mode
    caption, entities, html, parse_mode = _formatted(state, source, parse_mode, entities)
    if utf16_len(caption) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return caption or None, entities, html, parse_mode


def _formatted(
    state: EmulatorState, source: str, parse_mode: str | None, given_entities: Any
) -> tuple[str, list[dict[str, Any]], str | None, str | None]:
    html: str | None = None
    if parse_mode is None:
        text, entities = source, given_entities or []
    elif parse_mode.lower() == "html":
        try:
            text, entities = parse_html(source, strict_ampersand=state.strict_ampersand)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        html = source
    elif parse_mode.lower() in ("markdown", "markdownv2"):
        text, entities = source, []  # accepted but not parsed: the bot uses HTML
    else:
        raise bad_request("unsupported parse_mode")
    text, entities = strip_message_text(text, entities)
    return text, entities, html, parse_mode


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    if parts.scheme not in ("http", "https"):
        return False
    host = parts.hostname or ""
    return "." in host and not host.startswith(".") and not host.endswith(".")


def _validate_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: Object expected")
    if not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _valid_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _inline_keyboard(p: Params) -> list[list[dict[str, Any]]] | None:
    """Validated inline keyboard rows; None for no markup or a reply keyboard."""
    markup = p.get_json("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse inline keyboard: Field "inline_keyboard" must be an Array')
    keyboard = [[_validate_button(button) for button in row] for row in rows if row]
    return keyboard or None


def _link_preview(p: Params) -> dict[str, Any] | None:
    options = p.get_json("link_preview_options")
    if options is None and p.get_bool("disable_web_page_preview"):
        options = {"is_disabled": True}
    return options


def _reply_to(state: EmulatorState, p: Params, chat_id: int) -> int | None:
    reply = p.get_json("reply_parameters")
    if reply is None:
        message_id = p.get_int("reply_to_message_id")
        allow = p.get_bool("allow_sending_without_reply")
    elif isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow = bool(reply.get("allow_sending_without_reply"))
    else:
        raise bad_request("can't parse reply parameters JSON object")
    if message_id is None:
        return None
    if state.message_dict(chat_id, int(message_id)) is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def _own_message(state: EmulatorState, p: Params, not_found: str) -> SentMessage:
    if p.get_str("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = _chat(state, p)
    message_id = p.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = state.bot_message(chat["id"], message_id)
    if message is None or message.deleted:
        if (chat["id"], message_id) in state._user_messages:
            raise bad_request("message can't be edited")
        raise bad_request(not_found)
    return message


# -- bot info and polling ---------------------------------------------------------------------


def get_me(state: EmulatorState, p: Params) -> Any:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": bool(getattr(state, "inline_mode", False)),
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(state: EmulatorState, p: Params) -> Any:
    if state.webhook_url:
        raise ApiError(409, WEBHOOK_ACTIVE)
    offset = p.get_int("offset")
    limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
    timeout = max(p.get_float("timeout", 0.0) or 0.0, 0.0)
    allowed = p.get_json("allowed_updates")
    if allowed is not None:
        state._allowed_updates = frozenset(allowed) or None
    state._poll_generation += 1
    generation = state._poll_generation
    state._updates_event.set()  # an older long poll must end with 409 Conflict
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if generation != state._poll_generation:
            raise ApiError(409, TERMINATED_BY_SET_WEBHOOK if state.webhook_url else CONFLICT)
        batch = state.take_updates(offset, limit)
        if batch or state._closing:
            break
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        state._updates_event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state._updates_event.wait(), remaining)
    if batch:
        handed_at = time.monotonic()
        for update in batch:
            state.update_handed_out_at.setdefault(update["update_id"], handed_at)
        state._last_activity = handed_at
        state.notify_changed()
    return batch


def _webhook_url(url: str) -> SplitResult:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or port == -1
        or any(c.isspace() for c in url)
    ):
        raise bad_request("invalid webhook URL specified")
    # Telegram only delivers to https:// URLs on ports 80, 88, 443 and 8443; the emulator also
    # accepts http:// and any port on 127.0.0.1/localhost, where tests run their receivers.
    if parts.hostname not in LOOPBACK_HOSTS:
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (port or 443) not in _WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
    return parts


def _set_allowed_updates(state: EmulatorState, p: Params) -> None:
    allowed = p.get_json("allowed_updates")
    if isinstance(allowed, list):
        state._allowed_updates = frozenset(allowed) or None


def set_webhook(state: EmulatorState, p: Params) -> Any:
    url = p.get_str("url") or ""
    if not url:
        return delete_webhook(state, p)
    secret_token = p.get_str("secret_token") or ""
    max_connections = p.get_int("max_connections", DEFAULT_MAX_CONNECTIONS)
    max_connections = min(max(max_connections or 1, 1), MAX_CONNECTIONS)  # clamped, as Telegram
    drop = p.get_bool("drop_pending_updates")
    if not drop and state._webhook.same_as(url, secret_token, max_connections):
        _set_allowed_updates(state, p)  # "Webhook is already set": deliveries go on
        return True
    state._poll_generation += 1  # a long poll in progress ends with 409 Conflict
    state._updates_event.set()
    # Telegram closes the old webhook (and drops updates if asked) before it checks the new
    # one, so a refused setWebhook leaves none set
    state._delete_webhook()
    if drop:
        state._drop_pending_updates()
    parts = _webhook_url(url)
    if len(secret_token) > MAX_SECRET_TOKEN_LENGTH:
        raise bad_request("secret token is too long")
    if not _SECRET_TOKEN_RE.fullmatch(secret_token):
        raise bad_request("secret token contains unallowed characters")
    _set_allowed_updates(state, p)
    state._webhook.start(url, parts, secret_token, max_connections)
    return True


def delete_webhook(state: EmulatorState, p: Params) -> Any:
    state._delete_webhook()
    if p.get_bool("drop_pending_updates"):
        state._drop_pending_updates()
    return True


def get_webhook_info(state: EmulatorState, p: Params) -> Any:
    return state.webhook_info()


def set_my_commands(state: EmulatorState, p: Params) -> Any:
    commands = p.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        if not isinstance(name, str) or not _COMMAND_NAME_RE.fullmatch(name.lower()):
            raise bad_request("BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = state.commands_key(p.get_json("scope"), p.get_str("language_code"))
    state._commands[key] = [
        {"command": c["command"].lower(), "description": c["description"]} for c in commands
    ]
    return True


def get_my_commands(state: EmulatorState, p: Params) -> Any:
    key = state.commands_key(p.get_json("scope"), p.get_str("language_code"))
    return state._commands.get(key, [])


def delete_my_commands(state: EmulatorState, p: Params) -> Any:
    state._commands.pop(state.commands_key(p.get_json("scope"), p.get_str("language_code")), None)
    return True


def set_chat_menu_button(state: EmulatorState, p: Params) -> Any:
    """A chat's menu button (chat_id absent: the default); a Web App's URL must be https."""
    button = p.get_json("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if button["type"] == "web_app":
        url = (button.get("web_app") or {}).get("url", "")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request("BUTTON_URL_INVALID")
        if not 1 <= len(str(button.get("text", ""))) <= 64:
            raise bad_request("BUTTON_TEXT_INVALID")
    state.menu_buttons[p.get_int("chat_id", 0) or 0] = button
    return True


def get_chat_menu_button(state: EmulatorState, p: Params) -> Any:
    return state.menu_buttons.get(p.get_int("chat_id", 0) or 0, {"type": "commands"})


# Telegram's limits on the bot's profile texts
_SETTING_LIMITS = {"description": 512, "short_description": 120, "name": 64}


def _store_setting(name: str) -> Handler:
    def handler(state: EmulatorState, p: Params) -> Any:
        limit = _SETTING_LIMITS.get(name)
        if limit is not None and len(p.get_str(name, "")) > limit:
            raise bad_request(f"{name.upper()}_INVALID")
        key = f"{name}:{p.get_str('language_code', '')}"
        state.descriptions[key] = dict(p.raw)
        return True

    return handler


def accept(state: EmulatorState, p: Params) -> Any:
    return True


# -- messages ------------------------------------------------------------------------------


def send_message(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    chat_id = chat["id"]
    text, entities, html, parse_mode = _render_text(state, p)
    keyboard = _inline_keyboard(p)
    reply_to = _reply_to(state, p, chat_id)
    state.check_thread(chat_id, p.get_int("message_thread_id"))
    message = SentMessage(
        message_id=state.next_message_id(chat_id),
        chat_id=chat_id,
        text=text,
        entities=entities,
        html=html,
        parse_mode=parse_mode,
        reply_markup=keyboard,
        date=state.now(),
        received_at=p.received_at,
        reply_to_message_id=reply_to,
        message_thread_id=p.get_int("message_thread_id"),
        link_preview_options=_link_preview(p),
        disable_notification=p.get_bool("disable_notification"),
    )
    state.store_bot_message(message)
    state.stats.sent_messages += 1
    return state.bot_message_dict(message)


def edit_message_text(state: EmulatorState, p: Params) -> Any:
    message = _own_message(state, p, "message to edit not found")
    if message.photo is not None:
        raise bad_request("there is no text in the message to edit")
    text, entities, html, parse_mode = _render_text(state, p)
    keyboard = _inline_keyboard(p)
    link_preview = _link_preview(p)
    if (
        text == message.text
        and entities == message.entities
        and keyboard == message.reply_markup
        # a new preview (another link, or large) is a change of the message too
        and link_preview in (None, message.link_preview_options)
    ):
        raise bad_request(NOT_MODIFIED)
    message.history.append(message.html if message.html is not None else message.text)
    message.text, message.entities, message.html = text, entities, html
    message.parse_mode = parse_mode
    message.reply_markup = keyboard
    if link_preview is not None:
        message.link_preview_options = link_preview
    _mark_edited(state, message, p)
    return state.bot_message_dict(message)


def edit_message_reply_markup(state: EmulatorState, p: Params) -> Any:
    message = _own_message(state, p, "message to edit not found")
    keyboard = _inline_keyboard(p)
    if keyboard == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    message.reply_markup = keyboard
    _mark_edited(state, message, p)
    return state.bot_message_dict(message)


# -- photos --------------------------------------------------------------------------------


async def _input_photo(
    state: EmulatorState, p: Params, field: str, value: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """The PhotoSizes that `value` names, and the URL they were fetched from: an upload in
    field `field` (or `attach://<name>`), an HTTP URL (fetched now) or a file_id."""
    upload = p.files.get(field)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = p.files.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request(NO_PHOTO)
    if upload is not None:
        return state.files.from_upload(upload).sizes, None
    if not isinstance(value, str) or not value.strip():
        raise bad_request(NO_PHOTO)
    if "://" in value:
        photo = await state.files.from_url(value)
        return photo.sizes, value
    sizes = state.files.lookup(value)
    if sizes is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return sizes, None


async def send_photo(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    chat_id = chat["id"]
    caption, entities, html, parse_mode = _render_caption(
        state, p.get_str("caption"), p.get_str("parse_mode") or None, p.get_json("caption_entities")
    )
    keyboard = _inline_keyboard(p)
    reply_to = _reply_to(state, p, chat_id)
    state.check_thread(chat_id, p.get_int("message_thread_id"))
    sizes, url = await _input_photo(state, p, "photo", p.raw.get("photo"))
    message = SentMessage(
        message_id=state.next_message_id(chat_id),
        chat_id=chat_id,
        text="",
        entities=[],
        html=html,
        parse_mode=parse_mode,
        reply_markup=keyboard,
        date=state.now(),
        received_at=p.received_at,
        reply_to_message_id=reply_to,
        message_thread_id=p.get_int("message_thread_id"),
        disable_notification=p.get_bool("disable_notification"),
        photo=sizes,
        caption=caption,
        caption_entities=entities,
        photo_url=url,
    )
    state.store_bot_message(message)
    state.stats.sent_messages += 1
    state.stats.sent_photos += 1
    return state.bot_message_dict(message)


def edit_message_caption(state: EmulatorState, p: Params) -> Any:
    message = _own_message(state, p, "message to edit not found")
    if message.photo is None:
        raise bad_request("there is no caption in the message to edit")
    caption, entities, html, parse_mode = _render_caption(
        state, p.get_str("caption"), p.get_str("parse_mode") or None, p.get_json("caption_entities")
    )
    keyboard = _inline_keyboard(p)
    if (
        caption == message.caption
        and entities == message.caption_entities
        and keyboard == message.reply_markup
    ):
        raise bad_request(NOT_MODIFIED)
    _keep_history(message)
    message.caption, message.caption_entities, message.html = caption, entities, html
    message.parse_mode = parse_mode
    message.reply_markup = keyboard
    _mark_edited(state, message, p)
    return state.bot_message_dict(message)


async def edit_message_media(state: EmulatorState, p: Params) -> Any:
    message = _own_message(state, p, "message to edit not found")
    media = p.get_json("media")
    if not isinstance(media, dict):
        raise bad_request("can't parse InputMedia JSON object")
    if media.get("type") != "photo":
        raise bad_request("unsupported media type: the emulator edits photos only")
    if message.photo is None:  # a text message cannot become a photo
        raise bad_request("there is no media in the message to edit")
    caption, entities, html, parse_mode = _render_caption(
        state, media.get("caption"), media.get("parse_mode"), media.get("caption_entities")
    )
    keyboard = _inline_keyboard(p)
    sizes, url = await _input_photo(state, p, "media", media.get("media"))
    if (
        sizes[-1]["file_unique_id"] == message.photo[-1]["file_unique_id"]
        and caption == message.caption
        and entities == message.caption_entities
        and keyboard == message.reply_markup
    ):
        raise bad_request(NOT_MODIFIED)
    _keep_history(message)
    message.photo, message.photo_url = sizes, url
    message.caption, message.caption_entities, message.html = caption, entities, html
    message.parse_mode = parse_mode
    message.reply_markup = keyboard
    _mark_edited(state, message, p)
    return state.bot_message_dict(message)


def _keep_history(message: SentMessage) -> None:
    if message.html is not None:
        message.history.append(message.html)
    else:
        message.history.append((message.caption or "") if message.photo else message.text)


def _mark_edited(state: EmulatorState, message: SentMessage, p: Params) -> None:
    message.edit_count += 1
    message.edit_date = state.now()
    message.edited_at = p.received_at
    state.stats.edited_messages += 1


def delete_message(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    message_id = p.require_int("message_id")
    key = (chat["id"], message_id)
    bot_message = state.bot_message(*key)
    if bot_message is not None and not bot_message.deleted:
        date = bot_message.date
    elif key in state._user_messages:
        date = state._user_messages[key]["date"]
    else:
        raise bad_request("message to delete not found")
    if state.now() - date > DELETE_WINDOW_SECONDS:
        raise bad_request("message can't be deleted for everyone")
    if bot_message is not None:
        bot_message.deleted = True
    else:
        del state._user_messages[key]
    state.stats.deleted_messages += 1
    return True


def answer_callback_query(state: EmulatorState, p: Params) -> Any:
    query_id = p.get_str("callback_query_id") or ""
    if state._callback_queries.get(query_id, True):
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.get_str("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    state._callback_queries[query_id] = True
    state.callback_answers.append(
        {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time"),
            "received_at": p.received_at,
        }
    )
    return True


# -- chats ---------------------------------------------------------------------------------


def get_chat(state: EmulatorState, p: Params) -> Any:
    return chat_full_info(_chat(state, p))


def get_chat_member(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    user_id = p.require_int("user_id")
    user = state.bot_user if user_id == state.bot_id else state.user(user_id)
    status = state.member_status(chat["id"], user_id)
    if user is None or status is None:
        raise bad_request("user not found")
    return chat_member(user, status)


def get_chat_administrators(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    if chat["type"] == "private":
        raise bad_request("there are no administrators in the private chat")
    admins = []
    for (chat_id, user_id), status in state._members.items():
        if chat_id == chat["id"] and status in ("creator", "administrator"):
            user = state.bot_user if user_id == state.bot_id else state.user(user_id)
            if user is not None:
                admins.append(chat_member(user, status))
    return admins


def send_chat_action(state: EmulatorState, p: Params) -> Any:
    _chat(state, p)
    if p.get_str("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


def leave_chat(state: EmulatorState, p: Params) -> Any:
    chat = _chat(state, p)
    if chat["type"] == "private":
        raise bad_request("chat member status can't be changed in private chats")
    state._members[(chat["id"], state.bot_id)] = "left"
    state.faults.not_member(chat["id"])
    return True


# -- forum topics --------------------------------------------------------------------------


def _forum(state: EmulatorState, p: Params) -> dict[str, Any]:
    chat = _chat(state, p)
    if not chat.get("is_forum"):
        raise bad_request("the chat is not a forum")
    return chat


def _existing_topic(state: EmulatorState, p: Params) -> dict[str, Any]:
    chat = _forum(state, p)
    topic = state.topic(chat["id"], p.require_int("message_thread_id"))
    if topic is None or topic["deleted"]:
        raise bad_request("message thread not found")
    return topic


def create_forum_topic(state: EmulatorState, p: Params) -> Any:
    chat = _forum(state, p)
    name = p.get_str("name") or ""
    if not 1 <= len(name) <= 128:
        raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
    topic = state.open_topic(chat["id"], name, from_user=state.bot_user)
    return {
        "message_thread_id": topic["message_thread_id"],
        "name": topic["name"],
        "icon_color": topic["icon_color"],
    }


def close_forum_topic(state: EmulatorState, p: Params) -> Any:
    topic = _existing_topic(state, p)
    if topic["closed"]:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic["closed"] = True
    return True


def reopen_forum_topic(state: EmulatorState, p: Params) -> Any:
    topic = _existing_topic(state, p)
    if not topic["closed"]:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic["closed"] = False
    return True


def delete_forum_topic(state: EmulatorState, p: Params) -> Any:
    _existing_topic(state, p)["deleted"] = True
    return True


METHODS: dict[str, Handler] = {
    "getme": get_me,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "setchatmenubutton": set_chat_menu_button,
    "getchatmenubutton": get_chat_menu_button,
    "setmydescription": _store_setting("description"),
    "setmyshortdescription": _store_setting("short_description"),
    "setmyname": _store_setting("name"),
    "sendmessage": send_message,
    "editmessagetext": edit_message_text,
    "editmessagereplymarkup": edit_message_reply_markup,
    "editmessagecaption": edit_message_caption,
    "deletemessage": delete_message,
    "answercallbackquery": answer_callback_query,
    "getchat": get_chat,
    "getchatmember": get_chat_member,
    "getchatadministrators": get_chat_administrators,
    "sendchataction": send_chat_action,
    "leavechat": leave_chat,
    "createforumtopic": create_forum_topic,
    "closeforumtopic": close_forum_topic,
    "reopenforumtopic": reopen_forum_topic,
    "deleteforumtopic": delete_forum_topic,
    "close": accept,
    "logout": accept,
}
ASYNC_METHODS: dict[str, Callable[[EmulatorState, Params], Awaitable[Any]]] = {
    "getupdates": get_updates,
    "sendphoto": send_photo,  # fetches its URL first
    "editmessagemedia": edit_message_media,
}
FAULTABLE = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "editmessagetext",
        "editmessagecaption",
        "editmessagemedia",
        "editmessagereplymarkup",
        "deletemessage",
    }
)
RATE_LIMITED = frozenset(
    {"sendmessage", "sendphoto", "editmessagetext", "editmessagecaption", "editmessagemedia"}
)
