"""The guided /edit in a private chat: pick a field of an item, type or pick its new value,
see the item as it would read, save. Its state is a draft in the database, like the guided
/add's, so it goes on after a restart (`handlers.flows` routes to `text_step`, `photo_step`
and `button_step` here). Saving updates the messages subscribers already got
(`handlers.corrections`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import button
from bot.context import BotContext
from bot.i18n import _
from bot.render import item_card
from bot.services.corrections import EDITABLE
from bot.services.drafts import DraftState
from bot.services.validation import Problem, ValidationFailed, clean_field, clean_image_url
from bot.services.views import ItemView
from handlers.presentation import drop_buttons
from handlers.ui import (
    ACTIVE,
    END,
    ButtonStep,
    Flow,
    as_filed,
    ask_again,
    canonical_category,
    category_keyboard,
    checked_photo,
    draft_keys,
    end_flow,
    existing_item,
    item_from_args,
    send_item_preview,
    too_old_note,
    versions_below,
)
from handlers.updates import chat_of, message_of, query_of

KIND = Flow.EDIT
FLOW = "ed"  # in callback data
IMAGE = "image"  # the picture: changed by a photo or an https address, or removed


class Step(enum.StrEnum):
    """Where a guided /edit is; stored in its draft."""

    FIELD = "field"  # which field to change
    VALUE = "value"  # its new value, typed or picked
    CONFIRM = "confirm"  # the item as it would read: save or cancel


# -- /edit -------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """/edit [number] in a private chat: the list, or the buttons for the field to change."""
    item = await item_from_args(update, context, "edit")
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
        + too_old_note(context, item, texts.EDIT_PAST_KEEPING)
        + "\n\n"
        + item_card(item, context.services.settings.tz, show_number=True)
        + await versions_below(context, item),
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
    changed = await as_filed(context, _with_field(item, field, value))
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
