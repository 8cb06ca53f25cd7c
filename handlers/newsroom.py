"""/web: a one-time sign-in link to the web newsroom (owners and editors); /logout: end
every newsroom session of one's own."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _
from handlers.updates import message_of, user_of


async def web(update: Update, context: BotContext) -> None:
    settings = context.services.settings
    message = message_of(update)
    if settings.web_url is None:
        await message.reply_text(_(texts.WEB_COMMAND_OFF))
        return
    token = await context.services.web_sessions.issue_link(user_of(update).id)
    url = f"{settings.web_url}/login/{token}"
    # Telegram takes URL buttons to http://127.0.0.1 badly: the button only for https
    markup = (
        InlineKeyboardMarkup([[InlineKeyboardButton(_(texts.WEB_BUTTON_OPEN), url=url)]])
        if settings.web_secure
        else None
    )
    await message.reply_text(_(texts.WEB_LINK, url=html.escape(url)), reply_markup=markup)


async def logout(update: Update, context: BotContext) -> None:
    ended = await context.services.web_sessions.end_all(user_of(update).id)
    await message_of(update).reply_text(_(texts.WEB_LOGGED_OUT, n=ended))
