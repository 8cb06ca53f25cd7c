"""Corrections by admins: /edit (a guided flow, stored like /add's) and /delete.

Saving an edit updates the messages subscribers already got, in place; deleting retracts
them (Telegram allows that for 48 hours). The service records what to correct with the change
itself, the delivery engine carries it out (durably, within the rate limits), and the report
job tells the admin how it went once it is done (`correction_report`).
"""

from __future__ import annotations

import dataclasses
import enum
import html
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import StaleCallback, button, parse_button
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import item_card
from bot.services.corrections import EDITABLE
from bot.services.drafts import DraftState
from bot.services.reports import CorrectionReportView
from bot.services.validation import (
    Problem,
    ValidationFailed,
    clean_field,
    clean_image_url,
)
from bot.services.views import ItemView
from handlers.ui import (
    ACTIVE,
    END,
    ButtonStep,
    Flow,
    ask_again,
    canonical_category,
    category_keyboard,
    checked_photo,
    draft_keys,
    drop_buttons,
    end_flow,
    existing_item,
    send_item_preview,
)
from handlers.updates import args_of, chat_of, message_of, query_of, user_of

KIND = Flow.EDIT
FLOW = "ed"  # in callback data
LIST_SIZE = 10
IMAGE = "image"  # the picture: changed by a photo or an https address, or removed


class Step(enum.StrEnum):
    """Where a guided /edit is; stored in its draft."""

    FIELD = "field"  # which field to change
    VALUE = "value"  # its new value, typed or picked
    CONFIRM = "confirm"  # the item as it would read: save or cancel


# -- shared by /edit and /delete ---------------------------------------------------------------


async def _item_from_args(update: Update, context: BotContext, command: str) -> ItemView | None:
    """The item named by the command's number; otherwise answers (list, or the problem)."""
    message = message_of(update)
    args = args_of(context)
    news = context.services.news
    if not args:
        page = await news.page(LIST_SIZE)
        if not page.items:
            await message.reply_text(_(texts.CORRECT_NO_ITEMS, command=command))
            return None
        lines = [_(texts.CORRECT_LIST_HEADER, n=len(page.items), command=command)]
        for listed in page.items:
            lines.append(
                _(
                    texts.CORRECT_LIST_LINE,
                    id=listed.id,
                    date=current().date(listed.published_at, context.services.settings.tz),
                    title=html.escape(listed.title),
                )
            )
        await message.reply_text("\n".join(lines))
        return None
    raw = " ".join(args).removeprefix("#")
    if len(args) > 1 or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        await message.reply_text(
            _(texts.CORRECT_BAD_NUMBER, text=html.escape(" ".join(args)[:64]), command=command)
        )
        return None
    item = await news.get_item(int(raw))
    if item is None:
        await message.reply_text(_(texts.CORRECT_UNKNOWN, id=int(raw), command=command))
    return item


def _corrected(context: BotContext, item_id: int) -> None:
    """Pending deliveries of the item go out as it is now, and its corrections start."""
    if context.services.delivery is not None:
        context.services.delivery.corrected(item_id)


def correction_report(report: CorrectionReportView) -> str:
    """What the admin who edited or deleted an item hears once the messages are corrected."""
    if report.action == "edit":
        text = _(texts.EDIT_SAVED, id=report.item_id, updated=report.done, total=report.total)
        if report.failed:
            text += _(texts.EDIT_SAVED_FAILED, failed=report.failed)
        return text
    text = _(texts.DELETE_DONE, id=report.item_id, deleted=report.done, cancelled=report.cancelled)
    if report.too_old:
        text += _(texts.DELETE_TOO_OLD, old=report.too_old)
    if report.failed:
        text += _(texts.DELETE_FAILED, failed=report.failed)
    return text


# -- /delete -----------------------------------------------------------------------------------


async def delete(update: Update, context: BotContext) -> None:
    item = await _item_from_args(update, context, "delete")
    if item is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(_(texts.BUTTON_DELETE), "del", "yes", item.id),
                button(_(texts.BUTTON_KEEP), "del", "no", item.id),
            ]
        ]
    )
    await message_of(update).reply_text(
        _(texts.DELETE_CONFIRM)
        + "\n\n"
        + item_card(item, context.services.settings.tz, show_number=True),
        reply_markup=keyboard,
    )


async def on_delete_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    if user_of(update).id not in context.services.admins.user_ids:
        await query.answer(_(texts.NOT_ADMIN), show_alert=True)
        return
    try:
        flow, action, argument = parse_button(query.data)
        if flow != "del" or action not in ("yes", "no") or not argument or not argument.isdigit():
            raise StaleCallback(query.data or "")
    except StaleCallback:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    item_id = int(argument)
    chat = chat_of(update)
    await query.answer()
    await drop_buttons(update)
    if action == "no":
        await chat.send_message(_(texts.DELETE_KEPT, id=item_id))
        return
    try:
        await context.services.corrections.delete(
            user_of(update).id, item_id, report_chat_id=chat.id
        )
    except LookupError:
        await chat.send_message(_(texts.CORRECT_UNKNOWN, id=item_id, command="delete"))
        return
    _corrected(context, item_id)


# -- /edit -------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """/edit [number] in a private chat: the list, or the buttons for the field to change."""
    item = await _item_from_args(update, context, "edit")
    if item is None:
        await context.services.drafts.discard(*draft_keys(update))
        return END
    await context.services.drafts.save(*draft_keys(update), KIND, Step.FIELD, {"item_id": item.id})
    keyboard = InlineKeyboardMarkup(
        [
            [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in EDITABLE[:2]],
            [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in EDITABLE[2:]],
            [button(_(texts.FIELD_NAMES[IMAGE]), FLOW, "f", IMAGE)],
            [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")],
        ]
    )
    await message_of(update).reply_text(
        _(texts.EDIT_WHICH, id=item.id)
        + "\n\n"
        + item_card(item, context.services.settings.tz, show_number=True),
        reply_markup=keyboard,
    )
    return ACTIVE


async def private_only(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.FLOW_PRIVATE_ONLY, command="edit"))


async def _confirm(
    update: Update, context: BotContext, data: Mapping[str, Any], value: str | None
) -> int:
    item = await context.services.news.get_item(data["item_id"])
    if item is None:
        await context.services.drafts.discard(*draft_keys(update))
        await chat_of(update).send_message(
            _(texts.CORRECT_UNKNOWN, id=data["item_id"], command="edit")
        )
        return END
    field = data["field"]
    if getattr(item, field) == value:
        await chat_of(update).send_message(_(texts.EDIT_NOTHING))
        return ACTIVE
    await context.services.drafts.save(
        *draft_keys(update), KIND, Step.CONFIRM, {**data, "value": value}
    )
    changed = _with_field(item, field, value)
    await chat_of(update).send_message(_(texts.EDIT_PREVIEW, id=item.id))
    await send_item_preview(update, changed, context.services.settings.tz, _save_keyboard())
    return ACTIVE


def _with_field(item: ItemView, field: str, value: str | None) -> ItemView:
    """The item with one text field changed, as the edit would leave it."""
    if field == "title" and value is not None:
        return dataclasses.replace(item, title=value)
    if field == "category" and value is not None:
        return dataclasses.replace(item, category=value)
    if field == "url":
        return dataclasses.replace(item, url=value)
    if field == "summary":
        return dataclasses.replace(item, summary=value)
    raise ValueError(f"{field} cannot be {value!r}")


def _save_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(_(texts.BUTTON_SAVE), FLOW, "save"),
                button(_(texts.BUTTON_CANCEL), FLOW, "cancel"),
            ]
        ]
    )


async def _confirm_image(
    update: Update,
    context: BotContext,
    data: Mapping[str, Any],
    *,
    image_url: str | None = None,
    image_file_id: str | None = None,
) -> int:
    """The item with its new picture (or without one), to save or cancel."""
    item = await context.services.news.get_item(data["item_id"])
    if item is None:
        await context.services.drafts.discard(*draft_keys(update))
        await chat_of(update).send_message(
            _(texts.CORRECT_UNKNOWN, id=data["item_id"], command="edit")
        )
        return END
    if (item.image_url, item.image_file_id) == (image_url, image_file_id):
        await chat_of(update).send_message(_(texts.EDIT_NOTHING))
        return ACTIVE
    value = {"image_url": image_url, "image_file_id": image_file_id}
    await context.services.drafts.save(
        *draft_keys(update), KIND, Step.CONFIRM, {**data, "value": value}
    )
    intro = _(texts.EDIT_PREVIEW, id=item.id)
    if image_url is None and image_file_id is None:
        intro += "\n" + _(texts.EDIT_PICTURE_REMOVED)
    await chat_of(update).send_message(intro)
    changed = dataclasses.replace(item, image_url=image_url, image_file_id=image_file_id)
    await send_item_preview(update, changed, context.services.settings.tz, _save_keyboard())
    return ACTIVE


async def photo_step(update: Update, context: BotContext, draft: DraftState) -> int:
    """A photo while a guided /edit waits: the new picture, when that is what it asked for."""
    if draft.step != Step.VALUE or draft.get("field") != IMAGE:
        await message_of(update).reply_text(_(texts.ADD_USE_BUTTONS))
        return ACTIVE
    try:
        file_id = checked_photo(message_of(update))
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    return await _confirm_image(update, context, draft.data, image_file_id=file_id)


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    if draft.step != Step.VALUE:  # the other steps take buttons
        await message_of(update).reply_text(_(texts.ADD_USE_BUTTONS))
        return ACTIVE
    field = draft.get("field")
    if field == IMAGE:
        try:
            url = clean_image_url(message_of(update).text or "")
            if url is None:
                raise ValidationFailed(Problem.BAD_IMAGE_URL)
        except ValidationFailed as failure:
            return await ask_again(update, failure)
        return await _confirm_image(update, context, draft.data, image_url=url)
    try:
        value = clean_field(field, message_of(update).text or "", required=True)
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    if field == "category" and value is not None:
        value = await canonical_category(context, value)
    if field == "url" and value is not None:
        existing = await context.services.news.find_by_url(value)
        if existing is not None and existing.id != draft.get("item_id"):
            await message_of(update).reply_text(_(texts.ADD_LINK_TAKEN, id=existing.id))
            return ACTIVE
    return await _confirm(update, context, draft.data, value)


# -- buttons: (step, action) → what it does; step None means at any step


async def _cancel(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    return await end_flow(update, context, cancelled_text(draft))


async def _pick_field(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if argument not in (*EDITABLE, IMAGE):
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    data = {**draft.data, "field": argument}
    await context.services.drafts.save(*draft_keys(update), KIND, Step.VALUE, data)
    markup = None
    if argument == IMAGE:
        item = await context.services.news.get_item(draft["item_id"])
        if item is not None and item.has_image:
            remove = button(_(texts.BUTTON_REMOVE_PICTURE), FLOW, "noimg")
            markup = InlineKeyboardMarkup([[remove]])
    elif argument == "category":
        categories = await context.services.news.categories()
        markup = category_keyboard(FLOW, categories)
    elif argument in ("url", "summary"):
        markup = InlineKeyboardMarkup([[button(_(texts.BUTTON_SKIP), FLOW, "skip")]])
    await chat_of(update).send_message(_(texts.ADD_ASK_NEW[argument]), reply_markup=markup)
    return ACTIVE


async def _skip(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if draft.get("field") not in ("url", "summary"):
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _confirm(update, context, draft.data, None)


async def _remove_image(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if draft.get("field") != IMAGE:
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _confirm_image(update, context, draft.data)


async def _pick_category(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if draft.get("field") != "category" or not (argument or "").isdigit():
        return None
    category = await context.services.news.get_category(int(argument or 0))
    if category is None:
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _confirm(update, context, draft.data, category.name)


async def _save_button(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    await query_of(update).answer()
    return await _save(update, context, draft)


_BUTTONS: dict[tuple[Step | None, str], ButtonStep] = {
    (None, "cancel"): _cancel,
    (Step.FIELD, "f"): _pick_field,
    (Step.VALUE, "skip"): _skip,
    (Step.VALUE, "noimg"): _remove_image,
    (Step.VALUE, "cat"): _pick_category,
    (Step.CONFIRM, "save"): _save_button,
}


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    """A button of the guided /edit; None when it does not belong to the current step."""
    try:
        step: Step | None = Step(draft.step)
    except ValueError:  # a step this release does not know (stored by an older one)
        step = None
    handler = _BUTTONS.get((step, action)) or _BUTTONS.get((None, action))
    if handler is None:
        return None
    return await handler(update, context, draft, argument)


def cancelled_text(draft: DraftState) -> str:
    return _(texts.EDIT_CANCELLED, id=draft.get("item_id"))


async def _save(update: Update, context: BotContext, draft: DraftState) -> int:
    chat_id, user_id = draft_keys(update)
    corrections = context.services.corrections
    try:
        if draft["field"] == IMAGE:
            edited = await corrections.set_image(
                draft["item_id"], **draft["value"], actor_id=user_id, report_chat_id=chat_id
            )
        else:
            edited = await corrections.edit(
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
        existing = existing_item(failure)
        await chat_of(update).send_message(_(texts.ADD_LINK_TAKEN, id=existing.id))
        await context.services.drafts.save(chat_id, user_id, KIND, "value", draft.data)
        return ACTIVE
    await drop_buttons(update)
    await context.services.drafts.discard(chat_id, user_id)
    if edited is None:
        await chat_of(update).send_message(
            _(texts.CORRECT_UNKNOWN, id=draft["item_id"], command="edit")
        )
        return END
    return END
