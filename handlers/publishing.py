"""Publishing by admins: the one-line /add, and the guided /add in a private chat.

The guided flow keeps its state in the database (`DraftService`), not in memory, so it goes
on where it was after a restart of the bot; `handlers.flows` routes messages and buttons to
the step functions here.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot import texts
from bot.callbacks import MAX_BYTES, VERSION, StaleCallback
from bot.context import BotContext
from bot.db.base import utcnow
from bot.render import delivered_item, item_card
from bot.services.audit import record
from bot.services.drafts import DraftState
from bot.services.news import category_key
from bot.services.scheduling import WHEN_FORMAT, BadWhen, parse_when
from bot.services.validation import (
    CATEGORY_NAME_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    ItemDraft,
    Problem,
    ValidationFailed,
    clean_category,
    clean_summary,
    clean_title,
    clean_url,
    parse_add_line,
)
from bot.services.views import CategoryView, ItemView

ACTIVE = 1  # the one conversation state: which step, lives in the stored draft
END = ConversationHandler.END
KIND = "add"
FIELDS = ("title", "category", "url", "summary")
_AFTER = {"title": "category", "category": "url", "url": "summary", "summary": "preview"}
_MAX_CATEGORY_BUTTONS = 50

_LIMITS = {
    Problem.CATEGORY_TOO_LONG: CATEGORY_NAME_MAX,
    Problem.TITLE_TOO_LONG: TITLE_MAX,
    Problem.SUMMARY_TOO_LONG: SUMMARY_MAX,
    Problem.URL_TOO_LONG: URL_MAX,
}


def problem_text(failure: ValidationFailed) -> str:
    template = texts.PROBLEMS[failure.problem.value]
    return template.format(max=_LIMITS.get(failure.problem, ""), **failure.details)


# -- buttons: v1:<flow>:<action>[:<argument>] ------------------------------------------------


def button_data(flow: str, action: str, argument: str | int | None = None) -> str:
    data = f"{VERSION}:{flow}:{action}" + ("" if argument is None else f":{argument}")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse_button(data: str | None) -> tuple[str, str, str | None]:
    """(flow, action, argument) of data made by `button_data`; else StaleCallback."""
    parts = (data or "").split(":")
    if len(parts) not in (3, 4) or parts[0] != VERSION:
        raise StaleCallback(data or "empty")
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None


def button(
    label: str, flow: str, action: str, argument: str | int | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=button_data(flow, action, argument))


def category_keyboard(flow: str, categories: list[CategoryView]) -> InlineKeyboardMarkup | None:
    """The existing categories, two to a row; a new one is typed instead."""
    buttons = [button(c.name, flow, "cat", c.id) for c in categories[:_MAX_CATEGORY_BUTTONS]]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None


async def drop_buttons(update: Update) -> None:
    """The buttons of a finished step have done their job."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    # BadRequest: already edited, or the message is gone
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)


async def canonical_category(context: BotContext, name: str) -> str:
    """An existing category's own spelling when the name matches it (case-insensitively)."""
    key = category_key(name)
    for category in await context.services.news.categories():
        if category_key(category.name) == key:
            return category.name
    return name


def preview_view(
    data: Mapping[str, Any], *, item_id: int = 0, published_at: datetime | None = None
) -> ItemView:
    return ItemView(
        id=item_id,
        title=data["title"],
        summary=data.get("summary"),
        url=data.get("url"),
        category_id=0,
        category=data["category"],
        published_at=published_at or utcnow(),
    )


def _audit_publish(actor_id: int) -> Callable[[AsyncSession, ItemView], Awaitable[None]]:
    async def also(session: AsyncSession, item: ItemView) -> None:
        record(session, actor_id, "publish", item_id=item.id, detail=item.title)

    return also


# -- the one-line form -----------------------------------------------------------------------


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
        published = await context.services.news.publish(
            draft, source=f"admin:{user.id}", also=_audit_publish(user.id)
        )
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


# -- the guided flow -------------------------------------------------------------------------


def _keys(update: Update) -> tuple[int, int]:
    return update.effective_chat.id, update.effective_user.id


async def _save(update: Update, context: BotContext, step: str, data: Mapping[str, Any]) -> int:
    await context.services.drafts.save(*_keys(update), KIND, step, data)
    return ACTIVE


async def start(update: Update, context: BotContext) -> int:
    """/add without arguments, in a private chat: step 1, the title."""
    await context.services.drafts.save(*_keys(update), KIND, "title", {})
    await update.effective_message.reply_text(texts.ADD_ASK_TITLE)
    return ACTIVE


async def _ask(update: Update, context: BotContext, step: str, data: Mapping[str, Any]) -> int:
    """Store the draft at `step` and ask for what that step needs."""
    chat = update.effective_chat
    editing = bool(data.get("editing"))
    skip = button(texts.BUTTON_SKIP, KIND, "skip")
    if step == "preview":
        return await _preview(update, context, data)
    await _save(update, context, step, data)
    if step == "title":
        await chat.send_message(texts.ADD_ASK_NEW["title"] if editing else texts.ADD_ASK_TITLE)
    elif step == "category":
        categories = await context.services.news.categories()
        if editing:
            prompt = texts.ADD_ASK_NEW["category"]
        else:
            prompt = texts.ADD_ASK_CATEGORY if categories else texts.ADD_ASK_CATEGORY_NONE
        await chat.send_message(prompt, reply_markup=category_keyboard(KIND, categories))
    elif step in ("url", "summary"):
        prompt = (
            texts.ADD_ASK_NEW[step]
            if editing
            else (texts.ADD_ASK_LINK if step == "url" else texts.ADD_ASK_SUMMARY)
        )
        await chat.send_message(prompt, reply_markup=InlineKeyboardMarkup([[skip]]))
    elif step == "field":
        await chat.send_message(
            texts.ADD_EDIT_WHICH,
            reply_markup=InlineKeyboardMarkup(
                [
                    [button(texts.FIELD_NAMES[f], KIND, "f", f) for f in FIELDS[:2]],
                    [button(texts.FIELD_NAMES[f], KIND, "f", f) for f in FIELDS[2:]],
                    [button(texts.BUTTON_CANCEL, KIND, "cancel")],
                ]
            ),
        )
    elif step == "when":
        settings = context.services.settings
        tomorrow = datetime.combine(
            (context.services.scheduling.now().astimezone(settings.tz) + timedelta(days=1)).date(),
            time(9, 0),
        )
        await chat.send_message(
            texts.ADD_ASK_WHEN.format(
                tz=html.escape(settings.timezone), example=tomorrow.strftime(WHEN_FORMAT)
            )
        )
    return ACTIVE


async def _accepted(
    update: Update, context: BotContext, draft: DraftState, field: str, value: str | None
) -> int:
    data = {**draft.data, field: value}
    following = "preview" if data.get("editing") else _AFTER[field]
    return await _ask(update, context, following, data)


async def _preview(update: Update, context: BotContext, data: Mapping[str, Any]) -> int:
    data = {key: value for key, value in data.items() if key != "editing"}
    await _save(update, context, "preview", data)
    chat = update.effective_chat
    await chat.send_message(texts.ADD_PREVIEW)
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(texts.BUTTON_PUBLISH, KIND, "pub"),
                button(texts.BUTTON_SCHEDULE, KIND, "sched"),
            ],
            [button(texts.BUTTON_EDIT, KIND, "edit"), button(texts.BUTTON_CANCEL, KIND, "cancel")],
        ]
    )
    await chat.send_message(delivered_item(preview_view(data)), reply_markup=keyboard)
    return ACTIVE


async def ask_again(update: Update, failure: ValidationFailed) -> int:
    await update.effective_message.reply_text(
        texts.ADD_ASK_AGAIN.format(problem=problem_text(failure))
    )
    return ACTIVE


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    """A message while a guided /add waits at `draft.step`."""
    text = update.effective_message.text or ""
    step = draft.step
    try:
        if step == "title":
            return await _accepted(update, context, draft, "title", clean_title(text))
        if step == "category":
            name = await canonical_category(context, clean_category(text))
            return await _accepted(update, context, draft, "category", name)
        if step == "url":
            url = clean_url(text)
            if url is None:
                raise ValidationFailed(Problem.BAD_URL)
            existing = await context.services.news.find_by_url(url)
            if existing is not None:
                await update.effective_message.reply_text(
                    texts.ADD_LINK_TAKEN.format(id=existing.id)
                )
                return ACTIVE
            return await _accepted(update, context, draft, "url", url)
        if step == "summary":
            return await _accepted(update, context, draft, "summary", clean_summary(text))
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    if step == "when":
        return await _schedule(update, context, draft, text)
    await update.effective_message.reply_text(texts.ADD_USE_BUTTONS)
    return ACTIVE


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    """A button of the guided /add; None when it does not belong to the current step."""
    query = update.callback_query
    step = draft.step
    if action == "cancel":
        await query.answer()
        await drop_buttons(update)
        await context.services.drafts.discard(*_keys(update))
        await update.effective_chat.send_message(texts.ADD_CANCELLED)
        return END
    if action == "skip" and step in ("url", "summary"):
        await query.answer()
        await drop_buttons(update)
        return await _accepted(update, context, draft, step, None)
    if action == "cat" and step == "category" and argument and argument.isdigit():
        category = await context.services.news.get_category(int(argument))
        if category is None:
            return None
        await query.answer()
        await drop_buttons(update)
        return await _accepted(update, context, draft, "category", category.name)
    if action == "f" and step == "field" and argument in FIELDS:
        await query.answer()
        await drop_buttons(update)
        return await _ask(update, context, argument, {**draft.data, "editing": True})
    if step != "preview":
        return None
    if action == "pub":
        await query.answer()
        return await _publish(update, context, draft)
    if action == "sched":
        await query.answer()
        await drop_buttons(update)
        return await _ask(update, context, "when", draft.data)
    if action == "edit":
        await query.answer()
        await drop_buttons(update)
        return await _ask(update, context, "field", draft.data)
    return None


def _item_draft(data: Mapping[str, Any]) -> ItemDraft:
    return ItemDraft(
        category=data["category"],
        title=data["title"],
        url=data.get("url"),
        summary=data.get("summary"),
    )


async def _publish(update: Update, context: BotContext, draft: DraftState) -> int:
    user_id = update.effective_user.id
    chat = update.effective_chat
    try:
        published = await context.services.news.publish(
            _item_draft(draft.data), source=f"admin:{user_id}", also=_audit_publish(user_id)
        )
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        # the link was published meanwhile: ask for another one, then back to the preview
        await drop_buttons(update)
        await chat.send_message(texts.ADD_LINK_TAKEN.format(id=failure.details["existing"].id))
        return await _save(update, context, "url", {**draft.data, "editing": True})
    await drop_buttons(update)
    await context.services.drafts.discard(*_keys(update))
    item = published.item
    if published.category_created:
        done = texts.ADD_PUBLISHED_NEW_CATEGORY.format(
            id=item.id, category=html.escape(item.category)
        )
    else:
        done = texts.ADD_PUBLISHED.format(id=item.id)
    await chat.send_message(done)
    return END


async def _schedule(update: Update, context: BotContext, draft: DraftState, text: str) -> int:
    settings = context.services.settings
    scheduling = context.services.scheduling
    now = scheduling.now()
    try:
        when = parse_when(text, settings.tz, now)
    except BadWhen as bad:
        problem = texts.WHEN_PROBLEMS[bad.problem.value].format(
            tz=html.escape(settings.timezone),
            now=now.astimezone(settings.tz).strftime(texts.WHEN_FORMAT_SHOWN),
        )
        await update.effective_message.reply_text(texts.ADD_ASK_AGAIN.format(problem=problem))
        return ACTIVE
    chat_id, user_id = _keys(update)
    try:
        await scheduling.schedule(_item_draft(draft.data), when, actor_id=user_id, chat_id=chat_id)
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        await update.effective_message.reply_text(
            texts.ADD_LINK_TAKEN.format(id=failure.details["existing"].id)
        )
        return await _save(update, context, "url", {**draft.data, "editing": True})
    await context.services.drafts.discard(chat_id, user_id)
    await update.effective_message.reply_text(
        texts.ADD_SCHEDULED.format(
            when=when.astimezone(settings.tz).strftime(texts.WHEN_FORMAT_SHOWN),
            tz=html.escape(settings.timezone),
        )
    )
    return END
