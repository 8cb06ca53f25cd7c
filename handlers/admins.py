"""/admins: owners add people as editors or authors, change their role and remove them;
editors see the list. Ids only, never usernames."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import tzinfo

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.services.admins import GIVEN_ROLES, AdminView, Change, Outcome, Role
from handlers import menus
from handlers.updates import args_of, message_of, user_of

_CHANGE_TEXTS = {
    Change.ADDED: texts.ADMIN_ADDED,
    Change.ALREADY_ADMIN: texts.ADMIN_ALREADY,
    Change.IS_OWNER: texts.ADMIN_IS_OWNER,
    Change.REMOVED: texts.ADMIN_REMOVED,
    Change.NOT_ADMIN: texts.ADMIN_NOT_FOUND,
    Change.OWNER_FIXED: texts.ADMIN_OWNER_FIXED,
    Change.ROLE_CHANGED: texts.ADMIN_ROLE_CHANGED,
    Change.SAME_ROLE: texts.ADMIN_SAME_ROLE,
}
ROLE_NAMES = {Role.EDITOR: texts.ROLE_EDITOR, Role.AUTHOR: texts.ROLE_AUTHOR}
ACTIONS = ("add", "role", "remove")


def _role_name(role: Role | None) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else ""


def _list_text(admins: list[AdminView], tz: tzinfo) -> str:
    lines = [_(texts.ADMINS_HEADER)]
    for admin in admins:
        if admin.owner:
            lines.append(_(texts.ADMINS_OWNER_LINE, user_id=admin.user_id))
        else:
            date = current().date(admin.added_at, tz) if admin.added_at else ""
            lines.append(
                _(
                    texts.ADMINS_LINE,
                    user_id=admin.user_id,
                    role=_role_name(admin.role),
                    added_by=admin.added_by,
                    date=date,
                )
            )
    return "\n".join(lines) + "\n\n" + _(texts.ADMINS_USAGE)


@dataclass(frozen=True, slots=True)
class _Request:
    action: str
    user_id: int
    role: Role | None  # the role named (add: None means editor)


def _is_id(word: str) -> bool:
    return word.isascii() and word.isdigit() and 0 < int(word) < 2**63


def _role_word(word: str) -> Role | None:
    folded = word.casefold()
    return next((r for r in GIVEN_ROLES if r.value == folded), None)


def _parse(update: Update, args: list[str]) -> _Request | str:
    """What the owner asked for, or the reply that says what is wrong with it.

    The person is the user id after the action, or the author of the replied-to message
    (then the role, if any, follows the action directly)."""
    usage = _(texts.ADMINS_USAGE)
    action, rest = args[0].casefold(), args[1:]
    if action not in ACTIONS:
        return usage
    replied = message_of(update).reply_to_message
    author = replied.from_user if replied is not None else None
    if rest and _is_id(rest[0]):
        user_id, rest = int(rest[0]), rest[1:]
    elif author is not None and not author.is_bot and (not rest or _role_word(rest[0])):
        user_id = author.id
    elif rest:
        return _(texts.ADMINS_BAD_ID, text=html.escape(rest[0][:64])) + "\n\n" + usage
    else:
        return usage
    role_words = 0 if action == "remove" else 1
    if len(rest) > role_words or (action == "role" and not rest):
        return usage
    role = _role_word(rest[0]) if rest else None
    if rest and role is None:
        return _(texts.ADMINS_BAD_ROLE, text=html.escape(rest[0][:64])) + "\n\n" + usage
    return _Request(action, user_id, role)


async def manage(update: Update, context: BotContext) -> None:
    """Owners: /admins, /admins add <id> [editor|author], /admins role <id> editor|author,
    /admins remove <id>."""
    message = message_of(update)
    args = args_of(context)
    if not args:
        await show(update, context)
        return
    request = _parse(update, args)
    if isinstance(request, str):
        await message.reply_text(request)
        return
    roster = context.services.admin_roster
    actor, target = user_of(update).id, request.user_id
    if request.action == "add":
        outcome = await roster.add(actor, target, request.role or Role.EDITOR)
    elif request.action == "role":
        assert request.role is not None  # (_parse asks for one)
        outcome = await roster.set_role(actor, target, request.role)
    else:
        outcome = await roster.remove(actor, target)
    text = _CHANGE_TEXTS[outcome.change]
    await message.reply_text(_(text, user_id=target, role=_role_name(outcome.role)))
    await _update_menu(context, target, outcome)


async def _update_menu(context: BotContext, user_id: int, outcome: Outcome) -> None:
    """The person's menu lists what their role may use now; a removed one's goes back to the
    readers' (or to the one of their app's language, when they never chose one)."""
    newsroom = menus.newsroom_app(context.services.settings)
    if outcome.change in (Change.ADDED, Change.ROLE_CHANGED):
        language = await context.services.chats.language_of(user_id)
        await menus.set_chat_menu(
            context.bot, user_id, language, role=outcome.role, newsroom=newsroom
        )
    elif outcome.change is Change.REMOVED:
        if await context.services.chats.language_chosen(user_id):
            language = await context.services.chats.language_of(user_id)
            await menus.set_chat_menu(context.bot, user_id, language, role=None, newsroom=newsroom)
        else:
            await menus.drop_chat_menu(context.bot, user_id, newsroom=newsroom)


async def show(update: Update, context: BotContext) -> None:
    """Editors who are not owners: the list; any change is refused."""
    if context.args:
        await message_of(update).reply_text(_(texts.NOT_OWNER))
        return
    admins = await context.services.admin_roster.list()
    await message_of(update).reply_text(_list_text(admins, context.services.settings.tz))


async def refused(update: Update, context: BotContext) -> None:
    """Anyone else who tries an admin command: one polite answer, nothing happens."""
    await message_of(update).reply_text(_(texts.NOT_ADMIN))


def button_refusal(context: BotContext, user_id: int) -> str:
    """The alert for a button only editors may press: it names the editors to an author."""
    if user_id in context.services.authors.user_ids:
        return _(texts.EDITORS_ONLY_ALERT)
    return _(texts.NOT_ADMIN)


async def editors_only(update: Update, context: BotContext) -> None:
    """An author who tries an editor's command: the refusal says whose it is."""
    await message_of(update).reply_text(_(texts.NOT_EDITOR))
