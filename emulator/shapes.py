"""Builders for Bot API object dicts (User, Chat, ChatMember, ...)."""

from __future__ import annotations

import re
from typing import Any

from .html import utf16_len

__all__ = [
    "NOT_BY_DEFAULT",
    "bot_command_entities",
    "chat_dict",
    "chat_full_info",
    "chat_member",
    "reaction_type",
    "takes",
    "user_dict",
]

_COMMAND_RE = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})


def user_dict(
    user_id: int,
    first_name: str = "Test",
    username: str | None = None,
    *,
    last_name: str | None = None,
    language_code: str | None = None,
    is_bot: bool = False,
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def chat_dict(
    chat_id: int,
    chat_type: str,
    *,
    title: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    is_forum: bool = False,
) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name or "Test"
    else:
        chat["title"] = title or f"Chat {chat_id}"
    if username:
        chat["username"] = username
    if is_forum:
        chat["is_forum"] = True
    return chat


def chat_full_info(chat: dict[str, Any]) -> dict[str, Any]:
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def chat_member(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update({"can_be_edited": False, "is_anonymous": False})
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update(
            {
                "is_member": True,
                "until_date": 0,
                "can_send_messages": False,
                "can_send_audios": False,
                "can_send_documents": False,
                "can_send_photos": False,
                "can_send_videos": False,
                "can_send_video_notes": False,
                "can_send_voice_notes": False,
                "can_send_polls": False,
                "can_send_other_messages": False,
                "can_add_web_page_previews": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_pin_messages": False,
                "can_manage_topics": False,
                "can_edit_tag": False,
            }
        )
    return member


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram attaches to user messages (offsets in UTF-16)."""
    if "/" not in text:
        return []
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": len(m.group())}
        for m in _COMMAND_RE.finditer(text)
    ]


# what Telegram sends only to a bot that lists them in `allowed_updates`
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def takes(allowed: frozenset[str] | None, kind: str) -> bool:
    """Whether a bot that asked for `allowed` (None: not asked) gets updates of `kind`."""
    return kind not in NOT_BY_DEFAULT if allowed is None else kind in allowed


def reaction_type(reaction: str) -> dict[str, Any]:
    """A ReactionType: an emoji ("👍"), "custom:<id>" (a custom emoji) or "paid" (a star)."""
    if reaction == "paid":
        return {"type": "paid"}
    if reaction.startswith("custom:"):
        return {"type": "custom_emoji", "custom_emoji_id": reaction.removeprefix("custom:")}
    return {"type": "emoji", "emoji": reaction}
