"""/privacy (what the bot keeps about this chat, in its language, with this chat's own data in
brief) and /forget (erase it all, once confirmed with a button).

Anyone may ask /privacy. /forget follows the rule of the other group settings: in groups only
the group's administrators (`may_manage`), for the command and for its button. The button
names the chat as it was when asked (`ForgetChoice`): another chat's button, a forged one, or
one pressed again after the erase changes nothing and says so.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot import i18n, texts
from bot.callbacks import ForgetChoice, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _, current
from bot.services.privacy import ChatData
from bot.services.quiet import QuietHours
from handlers import menus
from handlers.permissions import may_manage
from handlers.presentation import drop_buttons, news_summary, schedule_summary
from handlers.updates import chat_of, message_of, query_of, user_of


def _is_admin_here(update: Update, context: BotContext) -> bool:
    """The private chat of one of the bot's owners or admins."""
    user = update.effective_user
    return (
        chat_of(update).type == ChatType.PRIVATE
        and user is not None
        and user.id in context.services.admins.user_ids
    )


# -- /privacy --------------------------------------------------------------------------------


def _name(data: ChatData) -> str:
    if data.name and data.username:
        return _(texts.PRIVACY_NAME, name=html.escape(f"{data.name} (@{data.username})"))
    if data.name or data.username:
        return _(texts.PRIVACY_NAME, name=html.escape(data.name or f"@{data.username}"))
    return _(texts.PRIVACY_NO_NAME)


def _following(data: ChatData) -> str:
    if data.everything:
        return _(texts.PRIVACY_FOLLOWS, following=_(texts.PRIVACY_FOLLOWS_ALL))
    if data.categories:
        following = current().plural(texts.PRIVACY_FOLLOWS_SOME, data.categories)
        return _(texts.PRIVACY_FOLLOWS, following=following)
    return _(texts.PRIVACY_FOLLOWS_NONE)


def _zone(data: ChatData, default_zone: str) -> str:
    if data.timezone is None:
        return _(texts.PRIVACY_ZONE_DEFAULT, tz=html.escape(default_zone))
    return _(texts.PRIVACY_ZONE, tz=html.escape(data.timezone))


def _quiet(data: ChatData) -> str:
    if data.quiet is None:
        return _(texts.PRIVACY_QUIET_NONE)
    start, end = data.quiet
    return _(texts.PRIVACY_QUIET, start=QuietHours.clock(start), end=QuietHours.clock(end))


def privacy_text(data: ChatData | None, context: BotContext, *, admin: bool) -> str:
    settings = context.services.settings
    tr = current()
    lines = [_(texts.PRIVACY_HEADER)]
    if data is not None:
        lines += [
            _name(data),
            _following(data),
            tr.plural(texts.PRIVACY_FILTERS, data.filters)
            if data.filters
            else _(texts.PRIVACY_FILTERS_NONE),
            _(
                texts.PRIVACY_LANGUAGE,
                language=html.escape(tr.language_name(data.language)),
                news=html.escape(news_summary(data.news)),
            ),
            _zone(data, settings.timezone),
            _quiet(data),
            _(texts.PRIVACY_DIGEST, digest=schedule_summary(data.digest)),
        ]
    lines += [
        _(texts.PRIVACY_SENT, days=settings.delivery_keep_days),
        _(texts.PRIVACY_SEARCHES),
        _(texts.PRIVACY_SUGGESTIONS),
        "",
        _(texts.PRIVACY_NEVER),
        "",
        _(texts.PRIVACY_ERASE),
    ]
    if admin:
        hours = int(context.services.drafts.ttl.total_seconds() // 3600)
        lines += ["", _(texts.PRIVACY_ADMIN, days=settings.audit_keep_days, hours=hours)]
    return "\n".join(lines)


async def privacy(update: Update, context: BotContext) -> None:
    data = await context.services.privacy.chat_data(chat_of(update).id)
    admin = _is_admin_here(update, context)
    await message_of(update).reply_text(privacy_text(data, context, admin=admin))


# -- /forget -----------------------------------------------------------------------------------


async def forget(update: Update, context: BotContext) -> None:
    message = message_of(update)
    chat = chat_of(update)
    if not await may_manage(update, context, chat):
        await message.reply_text(_(texts.FORGET_ADMINS_ONLY))
        return
    data = await context.services.privacy.chat_data(chat.id)
    if data is None:
        await message.reply_text(_(texts.FORGET_NOTHING))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _(texts.BUTTON_ERASE),
                    callback_data=encode(ForgetChoice(True, chat.id, data.stamp)),
                ),
                InlineKeyboardButton(
                    _(texts.BUTTON_KEEP_DATA),
                    callback_data=encode(ForgetChoice(False, chat.id, data.stamp)),
                ),
            ]
        ]
    )
    question = _(texts.FORGET_CONFIRM)
    if _is_admin_here(update, context):
        question += _(texts.FORGET_CONFIRM_ADMIN)
    await message.reply_text(question, reply_markup=keyboard)


async def on_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    chat = chat_of(update)
    try:
        choice = decode(query.data, (ForgetChoice,))
    except StaleCallback:
        choice = None
    if not isinstance(choice, ForgetChoice) or choice.chat_id != chat.id:
        await query.answer(_(texts.FORGET_STALE), show_alert=True)
        return
    if not await may_manage(update, context, chat):
        await query.answer(_(texts.FORGET_ADMINS_ONLY_ALERT), show_alert=True)
        return
    if not choice.erase:
        await query.answer()
        await drop_buttons(update)
        await chat.send_message(_(texts.FORGET_KEPT))
        return
    forgotten = await context.services.privacy.forget(chat.id, choice.stamp)
    if forgotten is None:
        await query.answer(_(texts.FORGET_STALE), show_alert=True)
        return
    await query.answer()
    await drop_buttons(update)
    await _fresh_menu(update, context)
    await chat.send_message(_(texts.FORGET_DONE))


async def _fresh_menu(update: Update, context: BotContext) -> None:
    """The chat's own command menu (set by /language, or a role's) goes with its language:
    Telegram shows the one of the user's app again; someone with a role gets theirs back in
    it."""
    chat = chat_of(update)
    await menus.drop_chat_menu(context.bot, chat.id)
    user = user_of(update)
    role = menus.role_of(context.services, user.id) if chat.type == ChatType.PRIVATE else None
    if role is not None:
        language = i18n.negotiate(user.language_code)
        await menus.set_chat_menu(
            context.bot,
            chat.id,
            language,
            role=role,
            newsroom=menus.newsroom_app(context.services.settings),
        )
