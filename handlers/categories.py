"""/categories for admins: every category with its names in the bot's languages, and naming
one: `/categories name <category> <en|fr|es> <name>`, or, in a private chat, with buttons.

The category may be given by any of its names, in any language, as `/category` takes it (a
unique prefix is enough). Its words and the name's may hold a two-letter word that reads like
a language ("Mujeres en cooperativas"), so each such word is tried as the language: a reading
whose category is known by exactly its words wins over one known by a prefix, and a longer
category over a shorter one ("Mujeres en cooperativas" over "Mujeres"). Bars make it plain:
`/categories name Mujeres en cooperativas | en | Women in co-ops`.

The guided way: in a private chat the list ends with a button per category; a tap asks for
the language (a button each), and the next message is the name. That last step is a draft of
the guided flows (`handlers/flows.py`, kind `name`): it lives in the database, survives a
restart, expires like the others, and /cancel leaves it.

Only owners and admins get here (a filter at registration; the buttons check it too); anyone
else gets the refusal.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, MessageLimit

from bot import i18n, texts
from bot.callbacks import NameCategory, StaleCallback, decode, encode
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import visible_length
from bot.services.categories import NameProblem, NameRefused, category_key
from bot.services.drafts import DraftState
from bot.services.news import Match
from bot.services.validation import CATEGORY_NAME_MAX, Problem, ValidationFailed
from bot.services.views import CategoryView
from handlers import admins
from handlers.presentation import category_name, drop_buttons, in_name_order
from handlers.ui import ACTIVE, END, Flow, draft_keys
from handlers.updates import args_of, chat_of, message_of, query_of, user_of

NAME = "name"  # the subcommand: /categories name …
BAR = "|"
MAX_BUTTONS = 100  # Telegram's limit for one keyboard
STEP = "name"  # the one step of a `name` draft: the name is typed


@dataclass(frozen=True, slots=True)
class _Reading:
    """One way to read the words after `/categories name`."""

    category: str
    language: str
    name: str


async def categories(update: Update, context: BotContext) -> None:
    args = args_of(context)
    if not args:
        await _show(update, context)
        return
    if args[0].casefold() != NAME or len(args) < 2:
        await message_of(update).reply_text(_(texts.CATEGORIES_USAGE))
        return
    await _name(update, context, args[1:])


# -- the list ----------------------------------------------------------------------------------


def _entry(category: CategoryView) -> str:
    names = dict(category.names)
    lines = [
        _(texts.CATEGORIES_NAME_LINE, language=code, name=html.escape(names[code]))
        if code in names
        else _(texts.CATEGORIES_NAME_NONE, language=code)
        for code in i18n.LANGUAGES
    ]
    return _(
        texts.CATEGORIES_ENTRY,
        name=html.escape(category.name),
        count=current().number(category.item_count),
        names="\n".join(lines),
    )


async def _show(update: Update, context: BotContext) -> None:
    """Every category, by its original name, with its names; as many messages as it takes,
    the last with a button per category in a private chat (the guided way)."""
    found = await context.services.categories.listing()
    if not found:
        await message_of(update).reply_text(_(texts.CATEGORY_NONE))
        return
    blocks = [_(texts.CATEGORIES_HEADER), *(_entry(c) for c in found), _(texts.CATEGORIES_USAGE)]
    page: list[str] = []
    for block in blocks:
        if page and visible_length("\n\n".join([*page, block])) > MessageLimit.MAX_TEXT_LENGTH:
            await message_of(update).reply_text("\n\n".join(page))
            page = []
        page.append(block)
    private = chat_of(update).type == ChatType.PRIVATE
    await message_of(update).reply_text(
        "\n\n".join(page), reply_markup=_categories_keyboard(found) if private else None
    )


def _categories_keyboard(found: list[CategoryView]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            _(texts.CATEGORIES_EDIT_BUTTON, name=category_name(c)),
            callback_data=encode(NameCategory(c.id)),
        )
        for c in in_name_order(found)[:MAX_BUTTONS]
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


# -- naming one --------------------------------------------------------------------------------


def _readings(words: list[str]) -> list[_Reading]:
    text = " ".join(words)
    if BAR in text:
        parts = [part.strip() for part in text.split(BAR)]
        return [_Reading(*parts)] if len(parts) == 3 and parts[0] and parts[1] else []
    return [
        _Reading(" ".join(words[:i]), words[i], " ".join(words[i + 1 :]))
        for i in range(1, len(words))
        if len(words[i]) == 2 and words[i].isascii() and words[i].isalpha()
    ]


async def _name(update: Update, context: BotContext, words: list[str]) -> None:
    message = message_of(update)
    readings = _readings(words)
    if not readings:
        await message.reply_text(_(texts.CATEGORIES_USAGE))
        return
    news = context.services.news
    known: list[tuple[tuple[bool, int], CategoryView, _Reading]] = []
    for reading in readings:
        match = await news.find_category(reading.category)
        if match.outcome is Match.FOUND and match.category is not None:
            keys = {category_key(name) for name in match.category.all_names}
            prefix_only = category_key(reading.category) not in keys
            known.append(((prefix_only, -len(reading.category)), match.category, reading))
    if not known:
        await message.reply_text(await _not_found(context, readings[0].category))
        return
    _rank, category, reading = min(known, key=lambda found: found[0])
    await message.reply_text((await _set(update, context, category, reading))[1])


async def _not_found(context: BotContext, name: str) -> str:
    shown = html.escape(name[:CATEGORY_NAME_MAX])
    match = await context.services.news.find_category(name)
    if match.outcome is Match.AMBIGUOUS:
        names = ", ".join(html.escape(category_name(c)) for c in in_name_order(match.candidates))
        return _(texts.CATEGORIES_AMBIGUOUS, name=shown, names=names)
    return _(texts.CATEGORIES_UNKNOWN, name=shown)


async def _set(
    update: Update, context: BotContext, category: CategoryView, reading: _Reading
) -> tuple[bool, str]:
    """Set the name; whether it was set, and what to answer."""
    try:
        named = await context.services.categories.set_name(
            category.id, reading.language, reading.name, actor_id=user_of(update).id
        )
    except NameRefused as refused:
        if refused.problem is NameProblem.BAD_LANGUAGE:
            languages = ", ".join(i18n.LANGUAGES)
            code = html.escape(reading.language[:16])
            return False, _(texts.CATEGORIES_BAD_LANGUAGE, code=code, languages=languages)
        other = refused.other.name if refused.other is not None else ""
        return False, _(
            texts.CATEGORIES_NAME_TAKEN,
            name=html.escape(reading.name),
            other=html.escape(other),
        )
    except ValidationFailed as failure:
        if failure.problem is Problem.CATEGORY_TOO_LONG:
            return False, _(texts.CATEGORY_NAME_TOO_LONG, max=CATEGORY_NAME_MAX)
        return False, _(texts.CATEGORIES_NAME_MISSING)
    except LookupError:  # deleted since it was found
        return False, _(texts.CATEGORIES_UNKNOWN, name=html.escape(category.name))
    name = named.category.name_in(named.language)
    values = {
        "category": html.escape(named.category.name),
        "name": html.escape(name),
        "language": current().language_name(named.language),
    }
    if named.before is None or named.before == name:
        return True, _(texts.CATEGORIES_NAMED, **values)
    return True, _(texts.CATEGORIES_RENAMED, before=html.escape(named.before), **values)


# -- the guided way ----------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    """A category's button (which language?), then a language's (the name is typed next)."""
    query = query_of(update)
    if user_of(update).id not in context.services.admins.user_ids:
        await query.answer(admins.button_refusal(context, user_of(update).id), show_alert=True)
        return
    try:
        action = decode(query.data, (NameCategory,))
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    assert isinstance(action, NameCategory)
    category = await context.services.news.get_category(action.category_id)
    if category is None or chat_of(update).type != ChatType.PRIVATE:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    await query.answer()
    if action.language is None:
        await _ask_language(update, category)
        return
    await context.services.drafts.save(
        *draft_keys(update),
        Flow.NAME,
        STEP,
        {"category_id": category.id, "language": action.language},
    )
    await drop_buttons(update)
    await chat_of(update).send_message(_ask_name(category, action.language))


async def _ask_language(update: Update, category: CategoryView) -> None:
    """A button per language, each by its own name, and the name there if it has one."""
    names = dict(category.names)
    rows = []
    for code in i18n.LANGUAGES:
        label = i18n.LANGUAGE_NAMES[code]
        if code in names:
            label = _(texts.CATEGORIES_LANGUAGE_BUTTON, language=label, name=names[code])
        data = encode(NameCategory(category.id, code))
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    await chat_of(update).send_message(
        _(texts.CATEGORIES_ASK_LANGUAGE, name=html.escape(category.name)),
        reply_markup=InlineKeyboardMarkup(rows),
    )


def _ask_name(category: CategoryView, language: str) -> str:
    values = {
        "category": html.escape(category.name),
        "language": current().language_name(language),
    }
    now = dict(category.names).get(language)
    if now is None:
        return _(texts.CATEGORIES_ASK_NAME, **values)
    return _(texts.CATEGORIES_ASK_NAME_NOW, now=html.escape(now), **values)


# what a `name` draft does with what the admin sends (see `handlers.flows.FlowSteps`)


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    category = await context.services.news.get_category(int(draft.get("category_id", 0)))
    if category is None:  # deleted meanwhile
        await context.services.drafts.discard(*draft_keys(update))
        await message_of(update).reply_text(
            _(texts.CATEGORIES_UNKNOWN, name=html.escape(str(draft.get("category_id"))))
        )
        return END
    reading = _Reading(category.name, str(draft.get("language")), message_of(update).text or "")
    done, answer = await _set(update, context, category, reading)
    if not done:
        await message_of(update).reply_text(answer + "\n\n" + _(texts.CATEGORIES_ASK_AGAIN))
        return ACTIVE
    await context.services.drafts.discard(*draft_keys(update))
    await message_of(update).reply_text(answer)
    return END


async def photo_step(update: Update, context: BotContext, draft: DraftState) -> int:
    await message_of(update).reply_text(_(texts.CATEGORIES_ASK_AGAIN))
    return ACTIVE


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    return None  # its buttons are /categories' own (`on_button`), not a flow's


def cancelled_text(draft: DraftState) -> str:
    return _(texts.CATEGORIES_CANCELLED)
