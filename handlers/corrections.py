"""Corrections by admins: /edit (a guided flow, stored like /add's) and /delete.

Saving an edit updates the messages subscribers already got, in place; deleting retracts
them (Telegram allows that for 48 hours). The service records what to correct with the change
itself, the delivery engine carries it out (durably, within the rate limits), and the report
job tells the admin how it went once it is done (`correction_report`).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import StaleCallback
from bot.context import BotContext
from bot.render import delivered_item, item_card
from bot.services.corrections import EDITABLE
from bot.services.drafts import DraftState
from bot.services.reports import CorrectionReportView
from bot.services.validation import (
    Problem,
    ValidationFailed,
    clean_category,
    clean_summary,
    clean_title,
    clean_url,
)
from bot.services.views import ItemView
from handlers.publishing import (
    ACTIVE,
    END,
    ask_again,
    button,
    canonical_category,
    category_keyboard,
    drop_buttons,
    parse_button,
)

KIND = "edit"
FLOW = "ed"  # in callback data
LIST_SIZE = 10
_CLEAN = {"title": clean_title, "summary": clean_summary, "category": clean_category}


# -- shared by /edit and /delete ---------------------------------------------------------------


async def _item_from_args(update: Update, context: BotContext, command: str) -> ItemView | None:
    """The item named by the command's number; otherwise answers (list, or the problem)."""
    message = update.effective_message
    args = context.args or []
    news = context.services.news
    if not args:
        page = await news.page(LIST_SIZE)
        if not page.items:
            await message.reply_text(texts.CORRECT_NO_ITEMS.format(command=command))
            return None
        lines = [texts.CORRECT_LIST_HEADER.format(n=len(page.items), command=command)]
        for item in page.items:
            lines.append(
                texts.CORRECT_LIST_LINE.format(
                    id=item.id,
                    date=item.published_at.strftime(texts.DATE_FORMAT),
                    title=html.escape(item.title),
                )
            )
        await message.reply_text("\n".join(lines))
        return None
    raw = " ".join(args).removeprefix("#")
    if len(args) > 1 or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        await message.reply_text(
            texts.CORRECT_BAD_NUMBER.format(text=html.escape(" ".join(args)[:64]), command=command)
        )
        return None
    item = await news.get_item(int(raw))
    if item is None:
        await message.reply_text(texts.CORRECT_UNKNOWN.format(id=int(raw), command=command))
    return item


def _corrected(context: BotContext, item_id: int) -> None:
    """Pending deliveries of the item go out as it is now, and its corrections start."""
    if context.services.delivery is not None:
        context.services.delivery.corrected(item_id)


def correction_report(report: CorrectionReportView) -> str:
    """What the admin who edited or deleted an item hears once the messages are corrected."""
    if report.action == "edit":
        text = texts.EDIT_SAVED.format(id=report.item_id, updated=report.done, total=report.total)
        if report.failed:
            text += texts.EDIT_SAVED_FAILED.format(failed=report.failed)
        return text
    text = texts.DELETE_DONE.format(
        id=report.item_id, deleted=report.done, cancelled=report.cancelled
    )
    if report.too_old:
        text += texts.DELETE_TOO_OLD.format(old=report.too_old)
    if report.failed:
        text += texts.DELETE_FAILED.format(failed=report.failed)
    return text


# -- /delete -----------------------------------------------------------------------------------


async def delete(update: Update, context: BotContext) -> None:
    item = await _item_from_args(update, context, "delete")
    if item is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(texts.BUTTON_DELETE, "del", "yes", item.id),
                button(texts.BUTTON_KEEP, "del", "no", item.id),
            ]
        ]
    )
    await update.effective_message.reply_text(
        texts.DELETE_CONFIRM + "\n\n" + item_card(item, show_number=True), reply_markup=keyboard
    )


async def on_delete_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if update.effective_user.id not in context.services.admins.user_ids:
        await query.answer(texts.NOT_ADMIN, show_alert=True)
        return
    try:
        flow, action, argument = parse_button(query.data)
        if flow != "del" or action not in ("yes", "no") or not (argument or "").isdigit():
            raise StaleCallback(query.data or "")
    except StaleCallback:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    item_id = int(argument)
    chat = update.effective_chat
    await query.answer()
    await drop_buttons(update)
    if action == "no":
        await chat.send_message(texts.DELETE_KEPT.format(id=item_id))
        return
    try:
        await context.services.corrections.delete(
            update.effective_user.id, item_id, report_chat_id=chat.id
        )
    except LookupError:
        await chat.send_message(texts.CORRECT_UNKNOWN.format(id=item_id, command="delete"))
        return
    _corrected(context, item_id)


# -- /edit -------------------------------------------------------------------------------------


def _keys(update: Update) -> tuple[int, int]:
    return update.effective_chat.id, update.effective_user.id


async def start(update: Update, context: BotContext) -> int:
    """/edit [number] in a private chat: the list, or the buttons for the field to change."""
    item = await _item_from_args(update, context, "edit")
    if item is None:
        await context.services.drafts.discard(*_keys(update))
        return END
    await context.services.drafts.save(*_keys(update), KIND, "field", {"item_id": item.id})
    keyboard = InlineKeyboardMarkup(
        [
            [button(texts.FIELD_NAMES[f], FLOW, "f", f) for f in EDITABLE[:2]],
            [button(texts.FIELD_NAMES[f], FLOW, "f", f) for f in EDITABLE[2:]],
            [button(texts.BUTTON_CANCEL, FLOW, "cancel")],
        ]
    )
    await update.effective_message.reply_text(
        texts.EDIT_WHICH.format(id=item.id) + "\n\n" + item_card(item, show_number=True),
        reply_markup=keyboard,
    )
    return ACTIVE


async def private_only(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(texts.FLOW_PRIVATE_ONLY.format(command="edit"))


async def _confirm(
    update: Update, context: BotContext, data: Mapping[str, Any], value: str | None
) -> int:
    item = await context.services.news.get_item(data["item_id"])
    if item is None:
        await context.services.drafts.discard(*_keys(update))
        await update.effective_chat.send_message(
            texts.CORRECT_UNKNOWN.format(id=data["item_id"], command="edit")
        )
        return END
    field = data["field"]
    if getattr(item, field) == value:
        await update.effective_chat.send_message(texts.EDIT_NOTHING)
        return ACTIVE
    await context.services.drafts.save(*_keys(update), KIND, "confirm", {**data, "value": value})
    changed = dataclasses.replace(item, **{field: value})
    keyboard = InlineKeyboardMarkup(
        [[button(texts.BUTTON_SAVE, FLOW, "save"), button(texts.BUTTON_CANCEL, FLOW, "cancel")]]
    )
    await update.effective_chat.send_message(texts.EDIT_PREVIEW.format(id=item.id))
    await update.effective_chat.send_message(delivered_item(changed), reply_markup=keyboard)
    return ACTIVE


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    if draft.step != "value":
        await update.effective_message.reply_text(texts.ADD_USE_BUTTONS)
        return ACTIVE
    field = draft.get("field")
    text = update.effective_message.text or ""
    try:
        if field == "url":
            value = clean_url(text)
            if value is None:
                raise ValidationFailed(Problem.BAD_URL)
            existing = await context.services.news.find_by_url(value)
            if existing is not None and existing.id != draft.get("item_id"):
                await update.effective_message.reply_text(
                    texts.ADD_LINK_TAKEN.format(id=existing.id)
                )
                return ACTIVE
        else:
            value = _CLEAN[field](text)
            if field == "category":
                value = await canonical_category(context, value)
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    return await _confirm(update, context, draft.data, value)


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    query = update.callback_query
    step, field = draft.step, draft.get("field")
    if action == "cancel":
        await query.answer()
        await drop_buttons(update)
        await context.services.drafts.discard(*_keys(update))
        await update.effective_chat.send_message(texts.EDIT_CANCELLED.format(id=draft["item_id"]))
        return END
    if action == "f" and step == "field" and argument in EDITABLE:
        await query.answer()
        await drop_buttons(update)
        data = {**draft.data, "field": argument}
        await context.services.drafts.save(*_keys(update), KIND, "value", data)
        markup = None
        if argument == "category":
            categories = await context.services.news.categories()
            markup = category_keyboard(FLOW, categories)
        elif argument in ("url", "summary"):
            markup = InlineKeyboardMarkup([[button(texts.BUTTON_SKIP, FLOW, "skip")]])
        await update.effective_chat.send_message(texts.ADD_ASK_NEW[argument], reply_markup=markup)
        return ACTIVE
    if action == "skip" and step == "value" and field in ("url", "summary"):
        await query.answer()
        await drop_buttons(update)
        return await _confirm(update, context, draft.data, None)
    if action == "cat" and step == "value" and field == "category" and (argument or "").isdigit():
        category = await context.services.news.get_category(int(argument))
        if category is None:
            return None
        await query.answer()
        await drop_buttons(update)
        return await _confirm(update, context, draft.data, category.name)
    if action == "save" and step == "confirm":
        await query.answer()
        return await _save(update, context, draft)
    return None


async def _save(update: Update, context: BotContext, draft: DraftState) -> int:
    chat_id, user_id = _keys(update)
    try:
        edited = await context.services.corrections.edit(
            user_id,
            draft["item_id"],
            draft["field"],
            draft.get("value"),
            report_chat_id=chat_id,
        )
        _corrected(context, draft["item_id"])
    except LookupError:
        edited = None
    except ValidationFailed as failure:  # the link was taken meanwhile
        existing = failure.details["existing"]
        await update.effective_chat.send_message(texts.ADD_LINK_TAKEN.format(id=existing.id))
        await context.services.drafts.save(chat_id, user_id, KIND, "value", draft.data)
        return ACTIVE
    await drop_buttons(update)
    await context.services.drafts.discard(chat_id, user_id)
    if edited is None:
        await update.effective_chat.send_message(
            texts.CORRECT_UNKNOWN.format(id=draft["item_id"], command="edit")
        )
        return END
    return END
