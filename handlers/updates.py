"""Typed access to the parts of an update that a handler's registration guarantees.

PTB types every part of an `Update` as optional, since an update in general may lack any of
them. A handler knows better from where `handlers.register` put it: a command's update has a
message and a chat, a button's has a callback query, and both have a user (except a channel
post, which has no sender). These accessors return that part, or raise `MissingPart` when the
promise is broken (a handler registered for the wrong kind of update): a bug, which the error
handler reports like any other.
"""

from __future__ import annotations

from telegram import CallbackQuery, Chat, InlineQuery, Message, Update, User

from bot.context import BotContext


class MissingPart(LookupError):
    """The update lacks a part that its handler's registration guarantees."""

    def __init__(self, part: str, update: Update) -> None:
        super().__init__(f"update {update.update_id} has no {part}")


def message_of(update: Update) -> Message:
    """The message of a command, a text, a photo, or the one under a pressed button."""
    message = update.effective_message
    if message is None:
        raise MissingPart("message", update)
    return message


def chat_of(update: Update) -> Chat:
    chat = update.effective_chat
    if chat is None:
        raise MissingPart("chat", update)
    return chat


def chat_id_of(update: Update) -> int:
    return chat_of(update).id


def user_of(update: Update) -> User:
    """Who sent the command or pressed the button (a channel post has no one: don't ask)."""
    user = update.effective_user
    if user is None:
        raise MissingPart("user", update)
    return user


def query_of(update: Update) -> CallbackQuery:
    """The pressed button of a `CallbackQueryHandler`'s update."""
    query = update.callback_query
    if query is None:
        raise MissingPart("callback query", update)
    return query


def inline_query_of(update: Update) -> InlineQuery:
    """What a user types after the bot's name, in an `InlineQueryHandler`'s update."""
    query = update.inline_query
    if query is None:
        raise MissingPart("inline query", update)
    return query


def args_of(context: BotContext) -> list[str]:
    """The words after a command (none when the update is no command)."""
    return list(context.args or [])
