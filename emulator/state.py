"""In-memory Telegram state shared by the HTTP side and the in-process user side."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .errors import bad_request
from .faults import Faults
from .files import FileStore
from .limits import RateLimiter
from .models import CallRecord, SentMessage, Stats
from .shapes import chat_dict, takes, user_dict
from .webhook import WebhookAttempt, WebhookSender, WebhookTargetStats

__all__ = ["EmulatorState"]

DEFAULT_SCOPE = {"type": "default"}
# the colours Telegram offers for a topic's icon
_TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


class EmulatorState:
    """Chats, users, messages, the update queue, logs and waiting helpers."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "CoopNewsBot",
        *,
        bot_first_name: str = "Co-op News Bot",
        seed: int = 0,
        max_calls: int = 100_000,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_user = user_dict(self.bot_id, bot_first_name, bot_username, is_bot=True)
        self.clock_offset = 0.0
        self.enforce_limits = False
        self.strict_ampersand = True
        self.record_calls = True
        self.limits = RateLimiter()
        self.faults = Faults(seed, on_migrate=self._on_migrate)
        self.stats = Stats()
        # photos by file_id, and the image fetches (per URL) and uploads the bot caused
        self.files = FileStore(bot_id=self.bot_id)
        self.calls: deque[CallRecord] = deque(maxlen=max_calls)
        self.callback_answers: list[dict[str, Any]] = []
        self.update_handed_out_at: dict[int, float] = {}
        self.descriptions: dict[str, Any] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._bot_messages: dict[int, dict[int, SentMessage]] = {}
        self._user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        # forum topics by (chat, message_thread_id): name, icon_color, closed, deleted
        self._topics: dict[tuple[int, int], dict[str, Any]] = {}
        # reactions on the bot's messages: (chat, message) -> user id -> their reactions
        self._reactions: dict[tuple[int, int], dict[int, list[dict[str, Any]]]] = {}
        self._next_message_id: dict[int, int] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # setChatMenuButton: per chat id (0: the default button)
        self.menu_buttons: dict[int, dict[str, Any]] = {}
        self._callback_queries: dict[str, bool] = {}
        self._updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self._last_update_id = 0
        self._handed_out_max = 0
        self._allowed_updates: frozenset[str] | None = None
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        self._change_event: asyncio.Event | None = None
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self.webhook_timeout = 10.0  # seconds a webhook POST may take before it counts as failed
        # (first, longest) delay before a failed update is POSTed again; doubles in between
        self.webhook_retry_delays = (0.05, 2.0)
        self._webhook = WebhookSender(self, max_calls)

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> int:
        """The emulator's unix time (wall clock plus ``clock_offset``)."""
        return int(time.time() + self.clock_offset)

    # -- chats and users ---------------------------------------------------------------------

    def register_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        title: str | None = None,
        *,
        first_name: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict[str, Any]:
        """Make ``chat_id`` known so the bot may send to it; returns the Chat dict."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = chat_dict(
                chat_id,
                chat_type,
                title=title,
                first_name=first_name,
                username=username,
                is_forum=is_forum,
            )
            self._chats[chat_id] = chat
            if chat_type == "private" and chat_id not in self._users:
                self._users[chat_id] = user_dict(chat_id, chat["first_name"], username)
        return chat

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        return self._chats.get(chat_id)

    def find_chat_by_username(self, username: str) -> dict[str, Any] | None:
        name = username.lstrip("@").lower()
        for chat in self._chats.values():
            if str(chat.get("username", "")).lower() == name:
                return chat
        return None

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self._users.get(user_id)

    def member_status(self, chat_id: int, user_id: int) -> str | None:
        status = self._members.get((chat_id, user_id))
        if status is not None:
            return status
        if user_id == self.bot_id or (chat_id == user_id and chat_id in self._chats):
            return "member"
        return "left" if user_id in self._users else None

    def make_forum(self, chat_id: int, title: str | None = None) -> dict[str, Any]:
        """Make ``chat_id`` a forum supergroup (topics on); returns the Chat dict."""
        chat = self.register_chat(chat_id, "supergroup", title, is_forum=True)
        chat["type"] = "supergroup"
        chat["is_forum"] = True
        return chat

    def topic(self, chat_id: int, thread_id: int) -> dict[str, Any] | None:
        """A forum topic as the emulator keeps it (name, closed, deleted), or None."""
        return self._topics.get((chat_id, thread_id))

    def open_topic(self, chat_id: int, name: str, *, from_user: dict[str, Any]) -> dict[str, Any]:
        """A new topic in forum ``chat_id``. As in Telegram, its id is the id of the service
        message (``forum_topic_created``) that opens it; messages in the topic reply to it."""
        message_id = self.next_message_id(chat_id)
        color = _TOPIC_COLORS[message_id % len(_TOPIC_COLORS)]
        topic = {
            "message_thread_id": message_id,
            "name": name,
            "icon_color": color,
            "closed": False,
            "deleted": False,
        }
        self._topics[(chat_id, message_id)] = topic
        self._user_messages[(chat_id, message_id)] = {
            "message_id": message_id,
            "message_thread_id": message_id,
            "from": from_user,
            "chat": self._chats[chat_id],
            "date": self.now(),
            "forum_topic_created": {"name": name, "icon_color": color},
            "is_topic_message": True,
        }
        return topic

    def check_thread(self, chat_id: int, thread_id: int | None) -> None:
        """Telegram's answer to a send into topic ``thread_id`` of a forum: a closed topic
        takes no messages, a deleted or unknown one does not exist."""
        chat = self._chats.get(chat_id)
        if thread_id is None or chat is None or not chat.get("is_forum"):
            return
        topic = self._topics.get((chat_id, thread_id))
        if topic is None or topic["deleted"]:
            raise bad_request("message thread not found")
        if topic["closed"]:
            raise bad_request("TOPIC_CLOSED")

    def _on_migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        old = self._chats.get(old_chat_id, {})
        self.register_chat(new_chat_id, "supergroup", old.get("title"))

    # -- messages ----------------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Bot messages currently visible in ``chat_id``, oldest first."""
        chat = self._bot_messages.get(chat_id)
        if not chat:
            return []
        return [m for m in chat.values() if not m.deleted]

    def all_messages(self, include_deleted: bool = True) -> list[SentMessage]:
        """Every bot message in every chat, in send order."""
        result = [
            m
            for chat in self._bot_messages.values()
            for m in chat.values()
            if include_deleted or not m.deleted
        ]
        result.sort(key=lambda m: m.received_at)
        return result

    def bot_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        chat = self._bot_messages.get(chat_id)
        return chat.get(message_id) if chat else None

    def store_bot_message(self, message: SentMessage) -> None:
        chat = self._bot_messages.get(message.chat_id)
        if chat is None:
            chat = self._bot_messages[message.chat_id] = {}
        chat[message.message_id] = message

    def bot_message_dict(self, message: SentMessage, *, nested: bool = True) -> dict[str, Any]:
        chat = self._chats[message.chat_id]
        result: dict[str, Any] = {"message_id": message.message_id}
        if chat["type"] == "channel":
            result["sender_chat"] = chat
        else:
            result["from"] = self.bot_user
        result["chat"] = chat
        result["date"] = message.date
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.message_thread_id is not None:
            result["message_thread_id"] = message.message_thread_id
            if chat.get("is_forum"):
                result["is_topic_message"] = True
        if message.photo is not None:
            result["photo"] = message.photo
            if message.caption:
                result["caption"] = message.caption
            if message.caption_entities:
                result["caption_entities"] = message.caption_entities
        else:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        if message.reply_markup:
            result["reply_markup"] = {"inline_keyboard": message.reply_markup}
        if nested and message.reply_to_message_id is not None:
            replied = self.message_dict(message.chat_id, message.reply_to_message_id, nested=False)
            if replied is not None:
                result["reply_to_message"] = replied
        return result

    def message_dict(
        self, chat_id: int, message_id: int, *, nested: bool = True
    ) -> dict[str, Any] | None:
        """The API dict of any live message (bot's or user's), or None."""
        bot_message = self.bot_message(chat_id, message_id)
        if bot_message is not None:
            return (
                None if bot_message.deleted else self.bot_message_dict(bot_message, nested=nested)
            )
        user_message = self._user_messages.get((chat_id, message_id))
        if user_message is not None and not nested:
            return {k: v for k, v in user_message.items() if k != "reply_to_message"}
        return user_message

    # -- updates -----------------------------------------------------------------------------

    def queue_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Append an update for the bot and wake a waiting getUpdates; returns its id."""
        self._last_update_id += 1
        update_id = self._last_update_id
        entry = (update_id, kind, {"update_id": update_id, kind: payload})
        self._updates.append(entry)
        if self._webhook.url:
            self._webhook.on_queued(entry)
        self._updates_event.set()
        self.notify_changed()
        return update_id

    @property
    def last_update_id(self) -> int:
        """Id of the newest update queued for the bot (0 before the first)."""
        return self._last_update_id

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet handed out to the bot (with a webhook: not yet
        acknowledged by a 2xx answer)."""
        if self._webhook.url:
            return len(self._updates)
        if self._webhook.used:
            # a webhook acknowledged updates out of order, so count what is left
            return sum(1 for update_id, _, _ in self._updates if update_id > self._handed_out_max)
        return self._last_update_id - self._handed_out_max

    def take_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """Acknowledge by ``offset`` and return up to ``limit`` updates (Telegram semantics)."""
        queue = self._updates
        if offset is not None:
            if offset < 0:
                while len(queue) > -offset:
                    queue.popleft()
            else:
                while queue and queue[0][0] < offset:
                    queue.popleft()
        if not queue:
            return []
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        last_seen = 0
        for update_id, kind, update in queue:
            last_seen = update_id
            if takes(allowed, kind):
                batch.append(update)
                if len(batch) >= limit:
                    break
        if last_seen > self._handed_out_max:
            self._handed_out_max = last_seen
        return batch

    def _drop_pending_updates(self) -> None:
        self._updates.clear()
        self._handed_out_max = self._last_update_id

    # -- webhook -------------------------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        """The URL the bot set with setWebhook; "" while it reads updates with getUpdates."""
        return self._webhook.url

    def _delete_webhook(self) -> None:
        if self._webhook.url and self._updates:
            # what the webhook left unacknowledged is new again for getUpdates
            self._handed_out_max = min(self._handed_out_max, self._updates[0][0] - 1)
        self._webhook.stop()

    def set_webhook_targets(self, targets: Iterable[str] | None) -> None:
        """Spread webhook POSTs over several workers, standing in for a load balancer in
        tests (Telegram itself has nothing like it).

        ``targets`` are ``scheme://host:port`` on loopback, e.g. ``http://127.0.0.1:8081``.
        Each POST, first attempts and resends alike, goes to the next target in turn: the
        scheme, host and port of the bot's webhook URL are replaced by the target's while its
        path and query string are kept, so ``https://bot.example.org/tg/hook`` is POSTed to
        ``http://127.0.0.1:8081/tg/hook``, then ``http://127.0.0.1:8082/tg/hook``, and so on.
        The URL the bot set, and sees in getWebhookInfo, stays as it was. ``None`` or ``[]``
        sends to the bot's URL again. Targets outlive setWebhook and deleteWebhook calls.
        Raises ValueError for a target that is not on loopback or has a path.
        """
        self._webhook.set_targets(targets)

    def webhook_info(self) -> dict[str, Any]:
        """What getWebhookInfo answers now (a WebhookInfo dict)."""
        return self._webhook.info()

    @property
    def webhook_stats(self) -> dict[str, WebhookTargetStats]:
        """POSTs per target (as given to :meth:`set_webhook_targets`, or the webhook URL
        when there are none): ``delivered`` (acknowledged) and ``failed``. Kept across
        setWebhook calls; ``webhook_stats.clear()`` resets them."""
        return self._webhook.stats

    @property
    def webhook_in_flight(self) -> int:
        """Webhook POSTs sent and not answered yet (at most ``max_connections``)."""
        return self._webhook.in_flight

    @property
    def webhook_attempts(self) -> deque[WebhookAttempt]:
        """Every webhook POST, oldest first: update id, target, URL, times, outcome."""
        return self._webhook.attempts

    async def wait_webhook_idle(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until a webhook is set and every queued update was acknowledged by a 2xx
        answer. The bot may still be handling the last ones: use :meth:`wait_idle` (which
        understands webhooks too) to wait for its API calls to settle."""
        if not self._webhook.url:
            raise RuntimeError("no webhook is set")
        try:
            await self.wait_for(
                lambda: self._webhook.url and not self._updates,
                timeout,
                "every update acknowledged by the webhook",
            )
        except TimeoutError:
            sender = self._webhook
            raise TimeoutError(
                f"webhook not idle after {timeout}s: {len(self._updates)} update(s) not "
                f"acknowledged, {sender.in_flight} POST(s) in flight, last error: "
                f"{sender.last_error_message or 'none'}"
            ) from None

    def commands_key(self, scope: Any, language_code: str | None) -> tuple[str, str]:
        if scope is not None and hasattr(scope, "to_dict"):
            scope = scope.to_dict()
        return json.dumps(scope or DEFAULT_SCOPE, sort_keys=True), language_code or ""

    def my_commands(self, scope: Any = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands set via setMyCommands for ``scope`` (dict or PTB scope) and language."""
        return list(self._commands.get(self.commands_key(scope, language_code), []))

    def menu_shown(self, chat_id: int, language_code: str = "") -> list[dict[str, Any]]:
        """The command menu a user whose app speaks `language_code` sees in a private chat,
        picked as Telegram picks it: the most specific scope that has commands, each scope
        first for the user's language, then for every language."""
        scopes = (
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            DEFAULT_SCOPE,
        )
        for scope in scopes:
            for language in (language_code, ""):
                found = self._commands.get(self.commands_key(scope, language))
                if found:
                    return list(found)
        return []

    def description(self, name: str, language_code: str = "") -> str | None:
        """What setMyDescription (`description`) or setMyShortDescription
        (`short_description`) set for a language, falling back to the default one."""
        for language in (language_code, ""):
            found = self.descriptions.get(f"{name}:{language}")
            if found is not None:
                return found.get(name)
        return None

    # -- waiting -----------------------------------------------------------------------------

    def notify_changed(self) -> None:
        event = self._change_event
        if event is not None:
            self._change_event = None
            event.set()

    def _changed_event(self) -> asyncio.Event:
        if self._change_event is None:
            self._change_event = asyncio.Event()
        return self._change_event

    @property
    def requests_in_flight(self) -> int:
        """API calls (other than getUpdates) received and not yet answered."""
        return self._inflight

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - plain seconds are the friendlier API here
        description: str | None = None,
        poll_interval: float = 0.02,
    ) -> Any:
        """Wait until ``predicate()`` is truthy; returns its value.

        Re-checked on every emulator state change and every ``poll_interval`` seconds (for
        predicates over state the emulator cannot see, e.g. a handler's side effects).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_message(predicate, timeout, description))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_event().wait(), min(remaining, poll_interval))

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until ``chat_id`` shows at least ``count`` bot messages; return them all."""
        await self.wait_for(
            lambda: len(self.messages(chat_id)) >= count,
            timeout,
            f"{count} bot message(s) in chat {chat_id}",
        )
        return self.messages(chat_id)

    async def wait_idle(
        self,
        quiet: float = 0.15,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until all updates were handed out in a getUpdates response and the bot then
        made no API call other than getUpdates (and has none in flight) for ``quiet`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = time.monotonic() - self._last_activity
            busy = self.pending_updates > 0 or self._inflight > 0
            if not busy and idle_for >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {self.pending_updates} update(s) not "
                    f"fetched, {self._inflight} request(s) in flight"
                )
            step = remaining if busy else min(remaining, quiet - idle_for)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_event().wait(), step)

    def _timeout_message(
        self, predicate: Callable[[], Any], timeout: float, description: str | None
    ) -> str:
        what = description or getattr(predicate, "__qualname__", repr(predicate))
        recent = [f"{c.method}->{c.status}" for c in list(self.calls)[-8:]]
        return (
            f"timed out after {timeout}s waiting for {what}; "
            f"pending updates: {self.pending_updates}; recent calls: {recent or 'none'}"
        )
