"""/subscribe, /unsubscribe, /subscriptions and their toggle keyboard.

In groups only the group's administrators may change what the group follows (asked of
Telegram with getChatMember, so it is right even after admins change). In a channel, posting
/subscribe already takes a channel admin. A bot admin may manage a channel from a private
chat by naming it: `/subscribe -1001234567890 news` or `/subscribe @channel all`.

In a forum supergroup, /subscribe (or the keyboard) used inside a topic routes those
categories' pushes into that topic; used in General, back to General.
"""

from __future__ import annotations

import contextlib
import html
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot import texts
from bot.callbacks import Close, StaleCallback, Toggle, decode, encode
from bot.context import BotContext
from bot.i18n import _
from bot.services.chats import ChatInfo
from bot.services.news import Match
from bot.services.subscriptions import Change, Following, Topic, UnknownCategory
from bot.services.validation import CATEGORY_NAME_MAX
from bot.services.views import CategoryView
from handlers.permissions import may_manage
from handlers.presentation import (
    category_name,
    in_name_order,
    news_summary,
    rules_text,
    schedule_summary,
)
from handlers.updates import args_of, chat_id_of, chat_of, message_of, query_of

ALL = "all"
MAX_BUTTONS = 98  # Telegram allows 100 buttons; "All categories" and "Done" take two


# -- rendering ---------------------------------------------------------------------------


def keyboard(
    categories: list[CategoryView], following: Following, chat_id: int | None = None
) -> InlineKeyboardMarkup:
    def mark(on: bool) -> str:
        return _(texts.SUBSCRIBE_CHECK) if on else ""

    everything = InlineKeyboardButton(
        _(texts.SUBSCRIBE_ALL_BUTTON, mark=mark(following.everything)),
        callback_data=encode(Toggle(None, chat_id)),
    )
    buttons = [
        InlineKeyboardButton(
            _(
                texts.SUBSCRIBE_BUTTON,
                mark=mark(following.everything or c.id in following.category_ids),
                name=category_name(c),
            ),
            callback_data=encode(Toggle(c.id, chat_id)),
        )
        for c in in_name_order(categories)[:MAX_BUTTONS]
    ]
    rows = [[everything], *(buttons[i : i + 2] for i in range(0, len(buttons), 2))]
    rows.append(
        [InlineKeyboardButton(_(texts.SUBSCRIBE_DONE_BUTTON), callback_data=encode(Close()))]
    )
    return InlineKeyboardMarkup(rows)


def topic_name(topic: Topic) -> str:
    return html.escape(topic.name or _(texts.TOPIC_UNNAMED, id=topic.thread_id))


def _line(following: Following, category: CategoryView) -> str:
    topic = following.topic(category.id)
    name = html.escape(category_name(category))
    if topic is None:
        return _(texts.SUBSCRIPTIONS_LINE, name=name)
    return _(texts.SUBSCRIPTIONS_LINE_TOPIC, name=name, topic=topic_name(topic))


def following_text(following: Following) -> str:
    if following.everything:
        text = _(texts.SUBSCRIPTIONS_ALL)
        everything = following.topic(None)
        if everything is not None:
            text += "\n" + _(texts.SUBSCRIPTIONS_ALL_TOPIC, topic=topic_name(everything))
        # categories of their own that go to another topic than the rest
        routed = [
            c for c in in_name_order(following.categories) if following.topic(c.id) is not None
        ]
        if routed:
            text += "\n" + "\n".join(_line(following, c) for c in routed)
        return text + _(texts.SUBSCRIPTIONS_FOOTER)
    if not following.categories:
        return _(texts.SUBSCRIPTIONS_NONE)
    lines = "\n".join(_line(following, c) for c in in_name_order(following.categories))
    return _(texts.SUBSCRIPTIONS_LIST, lines=lines) + _(texts.SUBSCRIPTIONS_FOOTER)


def message_topic(update: Update) -> Topic | None:
    """The forum topic a command or button press came from (None: General, or no forum).
    Its name is known when the message replies to the topic's first message, as messages
    in a topic do."""
    chat = update.effective_chat
    message = update.effective_message
    if not (chat and chat.is_forum and message and message.is_topic_message):
        return None
    if message.message_thread_id is None:
        return None
    replied = message.reply_to_message
    created = replied.forum_topic_created if replied is not None else None
    return Topic(message.message_thread_id, created.name if created else None)


def _is_bot_admin(update: Update, context: BotContext) -> bool:
    # by the user's id: on a button press the message's sender is the bot itself
    user = update.effective_user
    return user is not None and user.id in context.services.admins.user_ids


@dataclass(frozen=True, slots=True)
class _Target:
    chat_id: int
    title: str | None  # set when a bot admin manages another chat by naming it
    args: list[str]


async def _target(update: Update, context: BotContext) -> _Target | None:
    """The chat whose subscriptions change: this one, or one a bot admin names first."""
    args = args_of(context)
    chat = chat_of(update)
    first = args[0] if args else ""
    names_chat = first.startswith("@") or (first.startswith("-") and first[1:].isdigit())
    if not (chat.type == ChatType.PRIVATE and names_chat):
        if not await may_manage(update, context, chat):
            await message_of(update).reply_text(_(texts.SUBSCRIBE_ADMINS_ONLY))
            return None
        return _Target(chat.id, None, args)
    if not _is_bot_admin(update, context):
        await message_of(update).reply_text(_(texts.SUBSCRIBE_CHANNEL_NOT_ALLOWED))
        return None
    try:
        remote = await context.bot.get_chat(first if first.startswith("@") else int(first))
    except (TelegramError, ValueError):
        await message_of(update).reply_text(
            _(texts.SUBSCRIBE_CHANNEL_UNKNOWN, chat=html.escape(first[:64]))
        )
        return None
    await context.services.chats.remember(
        ChatInfo(id=remote.id, type=remote.type, title=remote.title, username=remote.username)
    )
    return _Target(remote.id, remote.title or str(remote.id), args[1:])


# -- commands ------------------------------------------------------------------------------


async def subscribe(update: Update, context: BotContext) -> None:
    await _change(update, context, follow=True)


async def unsubscribe(update: Update, context: BotContext) -> None:
    await _change(update, context, follow=False)


async def _change(update: Update, context: BotContext, *, follow: bool) -> None:
    message = message_of(update)
    target = await _target(update, context)
    if target is None:
        return
    services = context.services
    subscriptions = services.subscriptions
    remote = target.chat_id if target.title is not None else None
    name = " ".join(target.args)
    if not name:
        await _send_keyboard(update, context, target.chat_id, remote, follow=follow)
        return
    topic = message_topic(update) if target.title is None else None
    if name.casefold() == ALL:
        if follow:
            change = await subscriptions.follow(target.chat_id, None, topic)
        else:
            change = await subscriptions.unfollow(target.chat_id, None)
        await _reply(update, target, _result_text(change, None, follow=follow, topic=topic))
        return
    if len(name) > CATEGORY_NAME_MAX:
        await message.reply_text(_(texts.SUBSCRIBE_NAME_TOO_LONG, max=CATEGORY_NAME_MAX))
        return
    match = await services.news.find_category(name)
    found = match.category if match.outcome is Match.FOUND else None
    if found is not None:
        result: Change | None
        try:
            if follow:
                result = await subscriptions.follow(target.chat_id, found.id, topic)
            else:
                result = await subscriptions.unfollow(target.chat_id, found.id)
        except UnknownCategory:  # deleted between the lookup and now
            result = None
        if result is not None:
            text = _result_text(result, found, follow=follow, topic=topic)
            await _reply(update, target, text)
            return
    categories = list(match.candidates) or await services.news.categories()
    if not categories:
        await message.reply_text(_(texts.SUBSCRIBE_NO_CATEGORIES))
        return
    template = (
        _(texts.SUBSCRIBE_AMBIGUOUS)
        if match.outcome is Match.AMBIGUOUS
        else _(texts.SUBSCRIBE_UNKNOWN)
    )
    following = await subscriptions.following(target.chat_id)
    await message.reply_text(
        template.format(name=html.escape(name)),
        reply_markup=keyboard(categories, following, remote),
    )


def _result_text(
    change: Change, category: CategoryView | None, *, follow: bool, topic: Topic | None = None
) -> str:
    if category is None:
        if follow and change.changed:
            return _(texts.SUBSCRIBED_ALL_TOPIC) if topic else _(texts.SUBSCRIBED_ALL)
        if follow:
            return _(texts.ALREADY_SUBSCRIBED_ALL)
        return _(texts.UNSUBSCRIBED_ALL) if change.changed else _(texts.NOT_SUBSCRIBED_ANY)
    name = html.escape(category_name(category))
    if follow and change.changed:
        template = _(texts.SUBSCRIBED_TOPIC) if topic else _(texts.SUBSCRIBED)
    elif follow:
        template = _(texts.ALREADY_SUBSCRIBED)
    else:
        template = _(texts.UNSUBSCRIBED) if change.changed else _(texts.NOT_SUBSCRIBED)
    return template.format(name=name)


async def _reply(update: Update, target: _Target, text: str) -> None:
    if target.title is not None:
        text = _(texts.SUBSCRIBE_CHANNEL_DONE, title=html.escape(target.title), result=text)
    await message_of(update).reply_text(text)


async def _send_keyboard(
    update: Update, context: BotContext, chat_id: int, remote: int | None, *, follow: bool
) -> None:
    following = await context.services.subscriptions.following(chat_id)
    if not follow and following.nothing:
        await message_of(update).reply_text(_(texts.NOT_SUBSCRIBED_ANY))
        return
    categories = await context.services.news.categories()
    header = _(texts.SUBSCRIBE_CHOOSE) if follow else _(texts.UNSUBSCRIBE_CHOOSE)
    if not categories:
        header += "\n\n" + _(texts.SUBSCRIBE_NO_CATEGORIES)
    await message_of(update).reply_text(
        header, reply_markup=keyboard(categories, following, remote)
    )


async def subscriptions(update: Update, context: BotContext) -> None:
    chat_id = chat_id_of(update)
    following = await context.services.subscriptions.following(chat_id)
    languages = await context.services.chats.languages(chat_id)
    news = _(texts.SUBSCRIPTIONS_NEWS_IN, news=html.escape(news_summary(languages.news)))
    digest = await context.services.digests.settings(chat_id)
    news += "\n" + _(
        texts.SUBSCRIPTIONS_DIGEST,
        digest=schedule_summary(digest.schedule),
        tz=html.escape(digest.timezone),
    )
    keyword = await context.services.filters.of_chat(chat_id)
    if keyword.terms:
        shown = _(texts.SUBSCRIPTIONS_FILTERS, rules=rules_text(keyword))
    else:
        shown = _(texts.SUBSCRIPTIONS_NO_FILTERS)
    await message_of(update).reply_text(following_text(following) + "\n\n" + news + "\n" + shown)


# -- the toggle keyboard -----------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    try:
        action = decode(query.data, (Toggle, Close))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    if isinstance(action, Close):
        await query.answer()
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)
        return
    assert isinstance(action, Toggle)
    chat = chat_of(update)
    if action.chat_id is not None:
        allowed = chat.type == ChatType.PRIVATE and _is_bot_admin(update, context)
        if not allowed:
            await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
            return
        chat_id = action.chat_id
    else:
        if not await may_manage(update, context, chat):
            await query.answer(_(texts.SUBSCRIBE_ADMINS_ONLY_ALERT), show_alert=True)
            return
        chat_id = chat.id
    services = context.services
    try:
        topic = message_topic(update) if action.chat_id is None else None
        change = await services.subscriptions.toggle(chat_id, action.category_id, topic)
    except UnknownCategory:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    name = _(texts.SUBSCRIBE_ALL_NAME)
    if action.category_id is not None:
        category = await services.news.get_category(action.category_id)
        name = category_name(category) if category else name
    on = change.following.everything or action.category_id in change.following.category_ids
    await query.answer(
        (_(texts.SUBSCRIBE_TOGGLED_ON) if on else _(texts.SUBSCRIBE_TOGGLED_OFF)).format(name=name)
    )
    categories = await services.news.categories()
    # BadRequest "message is not modified": a double tap that changed nothing
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(
            reply_markup=keyboard(categories, change.following, action.chat_id)
        )
