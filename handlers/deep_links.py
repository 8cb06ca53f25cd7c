"""Deep links (`t.me/<bot>?start=<payload>`), which /start hands over here. (The Share button
that leads to inline mode is `handlers.presentation.share_button`.)

    item_<id>   /start shows that item, with a Share button (posted inline results and
                shared links open it)
    sub_<id>    /start offers to subscribe this chat to that category with one tap (the
                subscriptions keyboard's Toggle button, so the tap is handled there)

A payload is whatever the link's author typed: anything that does not name a live item or
category (`item_abc`, `item_-1`, 300 characters, a deleted item) gets a polite "no longer
available", never an error.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import Toggle, encode
from bot.context import BotContext
from bot.i18n import _
from bot.render import send_item
from handlers.presentation import category_name, reader_of
from handlers.updates import chat_id_of, message_of

ITEM_PREFIX = "item_"
SUBSCRIBE_PREFIX = "sub_"
MAX_ID = 2**63 - 1


def _number(text: str) -> int | None:
    """A positive id written in plain ASCII digits, or None."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


async def open_link(update: Update, context: BotContext, payload: str) -> None:
    if payload.startswith(ITEM_PREFIX):
        await _show_item(update, context, _number(payload.removeprefix(ITEM_PREFIX)))
    else:
        await _offer_subscription(update, context, _number(payload.removeprefix(SUBSCRIBE_PREFIX)))


async def _show_item(update: Update, context: BotContext, item_id: int | None) -> None:
    message = message_of(update)
    item = None
    if item_id is not None:
        # a link to any version opens the reader's own (or the one linked, if they read none)
        reader = await reader_of(update, context)
        shown = await context.services.stories.for_reader(item_id, reader) or item_id
        item = await context.services.news.get_item(shown)
    if item is None:
        await message.reply_text(_(texts.ITEM_GONE))
        return
    # as subscribers get it (with its picture and Share button), but with a hint for someone
    # who opened a link rather than the subscribers' footer
    await send_item(
        context.bot,
        message.chat_id,
        item,
        context.services.settings.tz,
        footer=_(texts.ITEM_LINK_HINT),
    )


async def _offer_subscription(update: Update, context: BotContext, category_id: int | None) -> None:
    message = message_of(update)
    services = context.services
    category = None
    if category_id is not None and category_id < 2**31:
        category = await services.news.get_category(category_id)
    if category is None:
        await message.reply_text(_(texts.SUBSCRIBE_LINK_UNKNOWN))
        return
    name = category_name(category)  # in the chat's language
    following = await services.subscriptions.following(chat_id_of(update))
    if following.everything or category.id in following.category_ids:
        await message.reply_text(_(texts.ALREADY_SUBSCRIBED, name=html.escape(name)))
        return
    button = InlineKeyboardButton(
        _(texts.SUBSCRIBE_LINK_BUTTON, name=name), callback_data=encode(Toggle(category.id))
    )
    await message.reply_text(
        _(texts.SUBSCRIBE_LINK_OFFER, name=html.escape(name)),
        reply_markup=InlineKeyboardMarkup([[button]]),
    )
