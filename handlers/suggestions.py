"""/suggest: a member's link for the editors (private chats); /suggest block|unblock and
/suggestions for editors; the Draft and Dismiss buttons under each suggestion; and the hint a
reader gets who tries to publish (/add, or a photo captioned like an item).

Draft turns the suggestion into the editor's guided /add: its draft is stored prefilled
(link, title, the member's words as summary) at the first step that still needs an answer,
and the flow goes on as any /add does; publishing it marks the suggestion published
(`bot.services.suggestions.published`, inside the publish's transaction).
"""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot import texts
from bot.callbacks import StaleCallback, SuggestionChoice, decode
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import item_card
from bot.services.suggestions import (
    Action,
    Outcome,
    Suggested,
    SuggestionView,
    Verdict,
    editor_buttons,
    editor_text,
)
from handlers import add_steps, admins
from handlers.add_steps import Step
from handlers.ui import Flow
from handlers.updates import args_of, chat_of, message_of, query_of, user_of

# "Category | Title | https://…": what a one-line /add looks like, without the /add
_ITEM_LIKE = re.compile(r"[^|\n]+\|[^|\n]+\|\s*https?://\S+", re.IGNORECASE)


class _LooksLikeItem(filters.MessageFilter):
    """A message or a photo's caption written like an item to publish."""

    def filter(self, message: Message) -> bool:
        return bool(_ITEM_LIKE.search(message.text or message.caption or ""))


LOOKS_LIKE_ITEM = _LooksLikeItem()


def _keyboard(buttons: list[list[dict[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in buttons
        ]
    )


def _usage(context: BotContext) -> str:
    return _(texts.SUGGEST_USAGE, limit=context.services.suggestions.daily_limit)


async def suggest(update: Update, context: BotContext) -> None:
    """/suggest <link> [words], from anyone, in a private chat."""
    message = message_of(update)
    if chat_of(update).type != ChatType.PRIVATE:
        link = f"https://t.me/{context.bot.username}?start=suggest"
        button = InlineKeyboardButton(_(texts.BUTTON_OPEN_PRIVATE), url=link)
        await message.reply_text(
            _(texts.SUGGEST_PRIVATE_ONLY), reply_markup=InlineKeyboardMarkup([[button]])
        )
        return
    args = args_of(context)
    if not args:
        await message.reply_text(_usage(context))
        return
    if args[0].casefold() in {"block", "unblock"}:
        await message.reply_text(_(texts.NOT_ADMIN))
        return
    _command, _space, rest = (message.text or "").partition(" ")
    link, _space, words = rest.strip().partition(" ")
    result = await context.services.suggestions.suggest(
        user_of(update).id, chat_of(update).id, link, words
    )
    await message.reply_text(await _answer(context, result))


async def _answer(context: BotContext, result: Suggested) -> str:
    settings = context.services.settings
    limit = context.services.suggestions.daily_limit
    match result.outcome:
        case Outcome.RECEIVED if result.suggestion is not None:
            title = result.suggestion.title or result.suggestion.link
            return _(texts.SUGGEST_RECEIVED, title=html.escape(title))
        case Outcome.NOT_HTTPS:
            return _(texts.SUGGEST_NOT_HTTPS)
        case Outcome.BLOCKED:
            return _(texts.SUGGEST_BLOCKED)
        case Outcome.TOO_MANY if result.again_at is not None:
            when = current().date_time(result.again_at, settings.tz)
            return _(texts.SUGGEST_TOO_MANY, limit=limit, when=when)
        case Outcome.PUBLISHED_ALREADY if result.item_id is not None:
            text = _(texts.SUGGEST_PUBLISHED_ALREADY, id=result.item_id)
            item = await context.services.news.get_item(result.item_id)
            return text + ("\n\n" + item_card(item, settings.tz) if item else "")
        case Outcome.SUGGESTED_ALREADY:
            return _(texts.SUGGEST_SUGGESTED_ALREADY)
    return _(texts.SUGGEST_BAD_LINK) + "\n\n" + _usage(context)


def _user_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63 else None


async def manage(update: Update, context: BotContext) -> None:
    """Editors: /suggest block|unblock USER_ID; anything else is a suggestion like anyone's."""
    args = args_of(context)
    if not args or args[0].casefold() not in {"block", "unblock"}:
        await suggest(update, context)
        return
    message = message_of(update)
    target = _user_id(args[1]) if len(args) == 2 else None
    if target is None:
        await message.reply_text(_(texts.SUGGEST_BLOCK_USAGE))
        return
    service = context.services.suggestions
    editor = user_of(update).id
    if args[0].casefold() == "block":
        done = await service.block(editor, target)
        reply = texts.SUGGEST_BLOCK_DONE if done else texts.SUGGEST_BLOCK_ALREADY
    else:
        done = await service.unblock(editor, target)
        reply = texts.SUGGEST_UNBLOCK_DONE if done else texts.SUGGEST_UNBLOCK_NOT
    await message.reply_text(_(reply, user_id=target))


async def waiting(update: Update, context: BotContext) -> None:
    """/suggestions (editors): the oldest waiting ones, each with Draft and Dismiss."""
    message = message_of(update)
    shown, total = await context.services.suggestions.waiting()
    if not shown:
        await message.reply_text(_(texts.SUGGESTIONS_NONE) + "\n\n" + _(texts.SUGGEST_BLOCK_USAGE))
        return
    tr = current()
    await message.reply_text(tr.plural(texts.SUGGESTIONS_HEADER, total))
    for suggestion in shown:
        await message.reply_text(
            editor_text(suggestion), reply_markup=_keyboard(editor_buttons(suggestion.id))
        )
    footer = _(texts.SUGGEST_BLOCK_USAGE)
    if total > len(shown):
        more = total - len(shown)
        footer = _(texts.SUGGESTIONS_MORE, n=more) + "\n\n" + footer
    await message.reply_text(footer)


async def on_button(update: Update, context: BotContext) -> None:
    """Draft or Dismiss under a suggestion: the first editor to press decides."""
    query = query_of(update)
    if user_of(update).id not in context.services.admins.user_ids:
        await query.answer(admins.button_refusal(context, user_of(update).id), show_alert=True)
        return
    try:
        choice = decode(query.data, (SuggestionChoice,))
        assert isinstance(choice, SuggestionChoice)
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    action = Action(choice.action)
    if action is Action.DRAFT and chat_of(update).type != ChatType.PRIVATE:
        await query.answer(_(texts.SUGGESTION_DRAFT_PRIVATE), show_alert=True)
        return
    service = context.services.suggestions
    decision = await service.decide(choice.suggestion_id, user_of(update).id, action)
    suggestion = decision.suggestion
    if decision.verdict is Verdict.UNKNOWN or suggestion is None:
        await query.answer(_(texts.SUGGESTION_UNKNOWN), show_alert=True)
        return
    if decision.verdict is Verdict.DECIDED_ALREADY:
        decided = texts.SUGGESTION_DECIDED.get(suggestion.state, texts.SUGGESTION_UNKNOWN)
        await query.answer(_(decided, user_id=suggestion.decided_by), show_alert=True)
        return
    await query.edit_message_reply_markup(None)
    if decision.verdict is Verdict.DISMISSED:
        await query.answer(_(texts.SUGGESTION_DISMISSED))
        return
    await query.answer()
    await _start_draft(update, context, suggestion)


async def _start_draft(update: Update, context: BotContext, suggestion: SuggestionView) -> None:
    """The editor's guided /add, prefilled, at the first step that needs an answer."""
    data = {
        "language": current().language,
        "title": suggestion.title,
        "url": suggestion.link,
        "summary": suggestion.words,
        "suggestion": suggestion.id,
    }
    step = Step.CATEGORY if suggestion.title else Step.TITLE
    await context.services.drafts.save(chat_of(update).id, user_of(update).id, Flow.ADD, step, data)
    await chat_of(update).send_message(_(texts.SUGGESTION_DRAFTED))
    await add_steps.show(update, context, step, data)


async def item_hint(update: Update, context: BotContext) -> None:
    """A reader who tries to publish (/add, or an item-like message): how to suggest it."""
    await message_of(update).reply_text(_(texts.SUGGEST_HOW))
