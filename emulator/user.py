"""The user side: in-process actions that produce updates for the bot."""

from __future__ import annotations

import itertools
from typing import Any

from .shapes import MEMBER_STATUSES, bot_command_entities, chat_member, reaction_type, user_dict
from .state import EmulatorState

__all__ = ["UserSide"]


class UserSide(EmulatorState):
    """Methods a test or the sandbox calls to act as Telegram users."""

    _query_ids = itertools.count(4_000_000_000_000_000_001)

    def _remember_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """The user as updates show them. `language_code` (their app's language) sticks to
        the user until a later message gives another."""
        user = self._users.get(user_id)
        language_code = language_code or (user or {}).get("language_code")
        if (
            user is None
            or user["first_name"] != first_name
            or user.get("username") != username
            or user.get("language_code") != language_code
        ):
            user = user_dict(
                user_id, first_name, username, last_name=last_name, language_code=language_code
            )
            self._users[user_id] = user
        return user

    def send_message(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        user_id: int,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        last_name: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Queue a ``message`` update from ``user_id``; returns the Message dict.

        ``chat_id`` defaults to ``user_id`` (the private chat). Commands get ``bot_command``
        entities, as Telegram adds them.
        """
        if chat_id is None:
            chat_id = user_id
        user = self._remember_user(user_id, first_name, username, last_name, language_code)
        chat = self.register_chat(
            chat_id, chat_type, chat_title, first_name=first_name, username=username
        )
        if chat["type"] != "private":
            self._members.setdefault((chat_id, user_id), "member")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": self.now(),
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if chat.get("is_forum"):
                message["is_topic_message"] = True
                # in a topic, a message that replies to nothing replies to the topic's start
                reply_to_message_id = reply_to_message_id or message_thread_id
        if reply_to_message_id is not None:
            replied = self.message_dict(chat_id, reply_to_message_id, nested=False)
            if replied is None:
                raise LookupError(f"no message {reply_to_message_id} in chat {chat_id}")
            message["reply_to_message"] = replied
        message["text"] = text
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        self._user_messages[(chat_id, message["message_id"])] = message
        self.queue_update("message", message)
        return message

    # -- forum topics ------------------------------------------------------------------------

    def create_topic(
        self, chat_id: int, name: str, *, user_id: int, first_name: str = "Test"
    ) -> int:
        """``user_id`` opens topic ``name`` in forum ``chat_id`` (made a forum if it is not
        one yet); the bot gets the ``forum_topic_created`` service message. Returns the
        topic's ``message_thread_id``."""
        if not (self._chats.get(chat_id) or {}).get("is_forum"):
            self.make_forum(chat_id)
        user = self._remember_user(user_id, first_name, None)
        self._members.setdefault((chat_id, user_id), "member")
        topic = self.open_topic(chat_id, name, from_user=user)
        thread_id = topic["message_thread_id"]
        self.queue_update("message", self._user_messages[(chat_id, thread_id)])
        return thread_id

    def close_topic(self, chat_id: int, thread_id: int, *, user_id: int) -> None:
        """Close a topic: sends into it fail with TOPIC_CLOSED until it is reopened."""
        self._topic_service_message(chat_id, thread_id, user_id, "forum_topic_closed")
        self._topics[(chat_id, thread_id)]["closed"] = True

    def reopen_topic(self, chat_id: int, thread_id: int, *, user_id: int) -> None:
        self._topic_service_message(chat_id, thread_id, user_id, "forum_topic_reopened")
        self._topics[(chat_id, thread_id)]["closed"] = False

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a topic with its messages: sends into it fail with "message thread not
        found" (Telegram sends no update for it)."""
        topic = self._topics.get((chat_id, thread_id))
        if topic is None:
            raise LookupError(f"no topic {thread_id} in chat {chat_id}")
        topic["deleted"] = True
        for message in self._bot_messages.get(chat_id, {}).values():
            if message.message_thread_id == thread_id:
                message.deleted = True
        for key in [k for k, m in self._user_messages.items() if k[0] == chat_id]:
            if self._user_messages[key].get("message_thread_id") == thread_id:
                del self._user_messages[key]

    def _topic_service_message(self, chat_id: int, thread_id: int, user_id: int, kind: str) -> None:
        topic = self._topics.get((chat_id, thread_id))
        if topic is None or topic["deleted"]:
            raise LookupError(f"no topic {thread_id} in chat {chat_id}")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "message_thread_id": thread_id,
            "from": self._users.get(user_id) or self._remember_user(user_id, "Test", None),
            "chat": self._chats[chat_id],
            "date": self.now(),
            "is_topic_message": True,
            kind: {},
        }
        self._user_messages[(chat_id, message["message_id"])] = message
        self.queue_update("message", message)

    def send_photo(
        self,
        *,
        user_id: int,
        chat_id: int | None = None,
        caption: str | None = None,
        size_bytes: int = 180_000,
        width: int = 1280,
        height: int = 960,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        chat_title: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Queue a ``message`` update with a photo from ``user_id``; returns the Message dict.

        The photo is stored like any other (so the bot can send it on by ``file_id``) and shown
        as Telegram shows it: ``photo`` is a list of PhotoSizes, smallest first, the largest
        ``width`` × ``height`` and ``size_bytes``. A ``caption`` gets ``bot_command`` entities.
        """
        if chat_id is None:
            chat_id = user_id
        user = self._remember_user(user_id, first_name, username, None, language_code)
        chat = self.register_chat(
            chat_id, chat_type, chat_title, first_name=first_name, username=username
        )
        if chat["type"] != "private":
            self._members.setdefault((chat_id, user_id), "member")
        photo = self.files.store(width, height, size_bytes, source="user")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": self.now(),
            "photo": [dict(size) for size in photo.sizes],
        }
        if caption:
            message["caption"] = caption
            entities = bot_command_entities(caption)
            if entities:
                message["caption_entities"] = entities
        self._user_messages[(chat_id, message["message_id"])] = message
        self.queue_update("message", message)
        return message

    def send_channel_post(
        self,
        text: str,
        *,
        chat_id: int,
        chat_title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Queue a ``channel_post`` update in channel ``chat_id``; returns the Message dict."""
        chat = self.register_chat(chat_id, "channel", chat_title, username=username)
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "sender_chat": chat,
            "chat": chat,
            "date": self.now(),
            "text": text,
        }
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        self._user_messages[(chat_id, message["message_id"])] = message
        self.queue_update("channel_post", message)
        return message

    def edit_user_message(
        self, chat_id: int, message_id: int, new_text: str, user_id: int | None = None
    ) -> dict[str, Any]:
        """Edit a message a user sent earlier and queue an ``edited_message`` update."""
        original = self._user_messages.get((chat_id, message_id))
        if original is None:
            raise LookupError(f"no user message {message_id} in chat {chat_id}")
        if user_id is not None and original.get("from", {}).get("id") != user_id:
            raise PermissionError(f"user {user_id} did not send message {message_id}")
        edited = {**original, "text": new_text, "edit_date": self.now()}
        edited.pop("entities", None)
        entities = bot_command_entities(new_text)
        if entities:
            edited["entities"] = entities
        self._user_messages[(chat_id, message_id)] = edited
        kind = "edited_channel_post" if edited["chat"]["type"] == "channel" else "edited_message"
        self.queue_update(kind, edited)
        return edited

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        user_id: int | None = None,
        *,
        first_name: str = "Test",
        username: str | None = None,
    ) -> str:
        """Queue a ``callback_query`` as if ``user_id`` pressed a button; returns the query id.

        ``callback_data`` is not checked against the keyboard, so forged data can be sent. A
        missing or deleted message is delivered as an inaccessible message (``date`` 0).
        """
        if user_id is None:
            user_id = chat_id
        user = self._users.get(user_id) or self._remember_user(user_id, first_name, username)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise LookupError(f"unknown chat {chat_id}")
        message = self.message_dict(chat_id, message_id)
        if message is None:
            message = {"chat": chat, "message_id": message_id, "date": 0}
        query_id = str(next(self._query_ids))
        self._callback_queries[query_id] = False
        self.queue_update(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": str((chat_id * 2654435761) % (1 << 63)),
                "data": callback_data,
            },
        )
        return query_id

    def set_member_status(
        self, chat_id: int, user_id: int, status: str, *, first_name: str = "Test"
    ) -> None:
        """Status returned by getChatMember / getChatAdministrators for this user."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        if user_id != self.bot_id and user_id not in self._users:
            self._users[user_id] = user_dict(user_id, first_name)
        self._members[(chat_id, user_id)] = status

    def send_my_chat_member(
        self,
        chat_id: int,
        user_id: int,
        old_status: str,
        new_status: str,
        *,
        chat_type: str = "private",
        chat_title: str | None = None,
        first_name: str = "Test",
    ) -> dict[str, Any]:
        """Queue a ``my_chat_member`` update and apply its effect on later sends.

        Private chat → "kicked" blocks the bot (403), "member" unblocks. Groups: "kicked" /
        "left" make sends fail with 403, any other status lets them through again.
        """
        user = self._users.get(user_id) or self._remember_user(user_id, first_name, None)
        chat = self.register_chat(chat_id, chat_type, chat_title, first_name=first_name)
        self._members[(chat_id, self.bot_id)] = new_status
        if new_status == "kicked":
            if chat["type"] == "private":
                self.faults.block(chat_id)
            else:
                self.faults.kick(chat_id)
        elif new_status == "left" and chat["type"] != "private":
            self.faults.not_member(chat_id)
        else:
            self.faults.unblock(chat_id)
        payload = {
            "chat": chat,
            "from": user,
            "date": self.now(),
            "old_chat_member": chat_member(self.bot_user, old_status),
            "new_chat_member": chat_member(self.bot_user, new_status),
        }
        self.queue_update("my_chat_member", payload)
        return payload

    # -- reactions ---------------------------------------------------------------------------

    def react(
        self,
        chat_id: int,
        message_id: int,
        reactions: list[str] | tuple[str, ...],
        *,
        user_id: int,
        first_name: str = "Test",
    ) -> dict[str, Any]:
        """``user_id``'s reactions on the bot's message become ``reactions`` (emoji, or
        "custom:<id>", or "paid"; empty: all removed), as Telegram tells the bot: a
        ``message_reaction`` update with the old and new ones in a private chat or group, a
        ``message_reaction_count`` with the message's new totals (anonymous) in a channel.
        The bot gets them only if it listed them in ``allowed_updates``. Returns the update's
        payload."""
        message = self.bot_message(chat_id, message_id)
        if message is None or message.deleted:
            raise LookupError(f"no bot message {message_id} in chat {chat_id}")
        chat = self._chats[chat_id]
        on_message = self._reactions.setdefault((chat_id, message_id), {})
        old = on_message.get(user_id, [])
        new = [reaction_type(r) for r in reactions]
        if new:
            on_message[user_id] = new
        else:
            on_message.pop(user_id, None)
        if chat["type"] == "channel":
            return self.react_count(chat_id, message_id, self.reaction_totals(chat_id, message_id))
        user = self._users.get(user_id) or self._remember_user(user_id, first_name, None)
        payload = {
            "chat": chat,
            "message_id": message_id,
            "user": user,
            "date": self.now(),
            "old_reaction": old,
            "new_reaction": new,
        }
        self.queue_update("message_reaction", payload)
        return payload

    def reaction_totals(self, chat_id: int, message_id: int) -> dict[str, int]:
        """How many of each reaction the message carries (by the keys ``react`` takes)."""
        totals: dict[str, int] = {}
        for reactions in self._reactions.get((chat_id, message_id), {}).values():
            for r in reactions:
                key = r.get("emoji") or (
                    f"custom:{r['custom_emoji_id']}" if "custom_emoji_id" in r else r["type"]
                )
                totals[key] = totals.get(key, 0) + 1
        return totals

    def react_count(self, chat_id: int, message_id: int, totals: dict[str, int]) -> dict[str, Any]:
        """Queue a ``message_reaction_count`` update: the message (a channel's) now carries
        ``totals`` (reaction -> count; zero counts are left out, as Telegram does)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise LookupError(f"unknown chat {chat_id}")
        payload = {
            "chat": chat,
            "message_id": message_id,
            "date": self.now(),
            "reactions": [
                {"type": reaction_type(r), "total_count": n} for r, n in totals.items() if n > 0
            ],
        }
        self.queue_update("message_reaction_count", payload)
        return payload
