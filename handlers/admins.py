"""/admins: owners add and remove admins; admins see the list. Ids only, never usernames."""

from __future__ import annotations

import html
from datetime import tzinfo

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.services.admins import AdminView, Change
from handlers import menus
from handlers.updates import args_of, message_of, user_of

_CHANGE_TEXTS = {
    Change.ADDED: texts.ADMIN_ADDED,
    Change.ALREADY_ADMIN: texts.ADMIN_ALREADY,
    Change.IS_OWNER: texts.ADMIN_IS_OWNER,
    Change.REMOVED: texts.ADMIN_REMOVED,
    Change.NOT_ADMIN: texts.ADMIN_NOT_FOUND,
    Change.OWNER_FIXED: texts.ADMIN_OWNER_FIXED,
}


def _list_text(admins: list[AdminView], tz: tzinfo) -> str:
    lines = [_(texts.ADMINS_HEADER)]
    for admin in admins:
        if admin.owner:
            lines.append(_(texts.ADMINS_OWNER_LINE, user_id=admin.user_id))
        else:
            date = current().date(admin.added_at, tz) if admin.added_at else ""
            lines.append(
                _(texts.ADMINS_LINE, user_id=admin.user_id, added_by=admin.added_by, date=date)
            )
    return "\n".join(lines) + "\n\n" + _(texts.ADMINS_USAGE)


def _target(update: Update, args: list[str]) -> int | str | None:
    """The user id named in the command, or the author of the replied-to message.

    Returns the offending text when it is not a plain number (e.g. a @username)."""
    if len(args) >= 2:
        raw = args[1]
        if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63:
            return int(raw)
        return raw
    replied = message_of(update).reply_to_message
    if replied is not None and replied.from_user is not None and not replied.from_user.is_bot:
        return replied.from_user.id
    return None


async def manage(update: Update, context: BotContext) -> None:
    """Owners: /admins, /admins add <id>, /admins remove <id>."""
    message = message_of(update)
    args = args_of(context)
    if not args:
        await show(update, context)
        return
    action = args[0].casefold()
    target = _target(update, args)
    if action not in {"add", "remove"} or target is None:
        await message.reply_text(_(texts.ADMINS_USAGE))
        return
    if isinstance(target, str):
        bad_id = _(texts.ADMINS_BAD_ID, text=html.escape(target[:64]))
        await message.reply_text(bad_id + "\n\n" + _(texts.ADMINS_USAGE))
        return
    roster = context.services.admin_roster
    actor = user_of(update).id
    if action == "add":
        change = await roster.add(actor, target)
    else:
        change = await roster.remove(actor, target)
    await message.reply_text(_(_CHANGE_TEXTS[change], user_id=target))
    await _update_menu(context, target, change)


async def _update_menu(context: BotContext, user_id: int, change: Change) -> None:
    """A new admin sees the admin commands in the menu; a removed one no longer does."""
    if change is Change.ADDED:
        language = await context.services.chats.language_of(user_id)
        await menus.set_chat_menu(context.bot, user_id, language, admin=True)
    elif change is Change.REMOVED:
        if await context.services.chats.language_chosen(user_id):
            language = await context.services.chats.language_of(user_id)
            await menus.set_chat_menu(context.bot, user_id, language, admin=False)
        else:
            await menus.drop_chat_menu(context.bot, user_id)


async def show(update: Update, context: BotContext) -> None:
    """Admins who are not owners: the list; any change is refused."""
    if context.args:
        await message_of(update).reply_text(_(texts.NOT_OWNER))
        return
    admins = await context.services.admin_roster.list()
    await message_of(update).reply_text(_list_text(admins, context.services.settings.tz))


async def refused(update: Update, context: BotContext) -> None:
    """Anyone else who tries an admin command: one polite answer, nothing happens."""
    await message_of(update).reply_text(_(texts.NOT_ADMIN))
