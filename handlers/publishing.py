"""Publishing by admins: the one-line /add."""

from __future__ import annotations

import html

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.render import item_card
from bot.services.validation import (
    CATEGORY_NAME_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    Problem,
    ValidationFailed,
    parse_add_line,
)

_LIMITS = {
    Problem.CATEGORY_TOO_LONG: CATEGORY_NAME_MAX,
    Problem.TITLE_TOO_LONG: TITLE_MAX,
    Problem.SUMMARY_TOO_LONG: SUMMARY_MAX,
    Problem.URL_TOO_LONG: URL_MAX,
}


def problem_text(failure: ValidationFailed) -> str:
    template = texts.PROBLEMS[failure.problem.value]
    return template.format(max=_LIMITS.get(failure.problem, ""), **failure.details)


def _command_args(text: str) -> str:
    """Everything after the command word, with the bars and spacing as typed."""
    _command, _, rest = text.partition(" ")
    return rest if _command else ""


async def add(update: Update, context: BotContext) -> None:
    message = update.effective_message
    args = _command_args(message.text or "")
    if not args.strip():
        await message.reply_text(texts.ADD_USAGE)
        return
    user = update.effective_user
    try:
        draft = parse_add_line(args)
        published = await context.services.news.publish(draft, source=f"admin:{user.id}")
    except ValidationFailed as failure:
        if failure.problem is Problem.DUPLICATE_URL:
            existing = failure.details["existing"]
            await message.reply_text(
                texts.ADD_DUPLICATE.format(id=existing.id) + "\n\n" + item_card(existing)
            )
        else:
            await message.reply_text(texts.ADD_PROBLEM.format(problem=problem_text(failure)))
        return
    item = published.item
    if published.category_created:
        intro = texts.ADD_DONE_NEW_CATEGORY.format(id=item.id, category=html.escape(item.category))
    else:
        intro = texts.ADD_DONE.format(id=item.id)
    await message.reply_text(intro)
    await message.reply_text(item_card(item))


async def add_refused(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(texts.ADD_NOT_ALLOWED)
