"""The guided /add's steps: their names (stored in the draft), their order, and what each
one shows once the draft is stored at it. How the flow moves from step to step (answers,
buttons, publishing or scheduling at the end) is `handlers.add_flow`."""

from __future__ import annotations

import enum
import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import i18n, texts
from bot.callbacks import button
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import local_time
from bot.services.scheduling import WHEN_FORMAT
from bot.services.validation import FIELDS
from bot.services.views import ItemView
from handlers.ui import category_keyboard, send_item_preview
from handlers.updates import chat_of

FLOW = "add"  # in callback data


class Step(enum.StrEnum):
    """Where a guided /add is; stored in its draft."""

    TITLE = "title"
    CATEGORY = "category"
    URL = "url"
    SUMMARY = "summary"
    IMAGE = "image"  # a photo, an https address, or Skip
    PREVIEW = "preview"  # publish, schedule, change a field or cancel
    FIELD = "field"  # which field to change, from the preview
    WHEN = "when"  # the date and time to publish at
    LANGUAGE = "language"  # the language the item is written in, from the preview


# the fields in the order they are asked for; the preview follows the last
NEXT = {
    Step.TITLE: Step.CATEGORY,
    Step.CATEGORY: Step.URL,
    Step.URL: Step.SUMMARY,
    Step.SUMMARY: Step.IMAGE,
}
# what the preview's "Edit" offers: the text fields, and the picture
CHANGEABLE = (*FIELDS, Step.IMAGE.value)


def preview_view(data: Mapping[str, Any], *, published_at: datetime, item_id: int = 0) -> ItemView:
    """The draft's item as it would be published (the preview shows it so)."""
    return ItemView(
        id=item_id,
        title=data["title"],
        summary=data.get("summary"),
        url=data.get("url"),
        category_id=0,
        category=data["category"],
        published_at=published_at,
        language=data.get("language", i18n.ENGLISH),
        image_url=data.get("image_url"),
        image_file_id=data.get("image_file_id"),
    )


# -- asking: what each step shows once the draft is stored at it


async def _ask_title(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    prompt = _(texts.ADD_ASK_NEW["title"]) if data.get("editing") else _(texts.ADD_ASK_TITLE)
    await chat_of(update).send_message(prompt)


async def _ask_category(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    categories = await context.services.news.categories()
    if data.get("editing"):
        prompt = _(texts.ADD_ASK_NEW["category"])
    else:
        prompt = _(texts.ADD_ASK_CATEGORY) if categories else _(texts.ADD_ASK_CATEGORY_NONE)
    await chat_of(update).send_message(prompt, reply_markup=category_keyboard(FLOW, categories))


async def _ask_optional(
    update: Update, context: BotContext, data: Mapping[str, Any], field: Step
) -> None:
    first = _(texts.ADD_ASK_LINK) if field is Step.URL else _(texts.ADD_ASK_SUMMARY)
    prompt = _(texts.ADD_ASK_NEW[field]) if data.get("editing") else first
    skip = InlineKeyboardMarkup([[button(_(texts.BUTTON_SKIP), FLOW, "skip")]])
    await chat_of(update).send_message(prompt, reply_markup=skip)


async def _ask_url(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    await _ask_optional(update, context, data, Step.URL)


async def _ask_summary(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    await _ask_optional(update, context, data, Step.SUMMARY)


async def _ask_image(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    prompt = _(texts.ADD_ASK_NEW["image"]) if data.get("editing") else _(texts.ADD_ASK_PHOTO)
    skip = InlineKeyboardMarkup([[button(_(texts.BUTTON_SKIP), FLOW, "skip")]])
    await chat_of(update).send_message(prompt, reply_markup=skip)


async def _ask_preview(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    chat = chat_of(update)
    tr = current()
    language = tr.language_name(data.get("language", i18n.ENGLISH))
    await chat.send_message(
        tr(texts.ADD_PREVIEW)
        + "\n"
        + tr(texts.ADD_PREVIEW_LANGUAGE, language=html.escape(language))
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(_(texts.BUTTON_PUBLISH), FLOW, "pub"),
                button(_(texts.BUTTON_SCHEDULE), FLOW, "sched"),
            ],
            [
                button(_(texts.BUTTON_EDIT), FLOW, "edit"),
                button(_(texts.BUTTON_ITEM_LANGUAGE), FLOW, "lang"),
            ],
            [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")],
        ]
    )
    now = context.services.scheduling.now()
    view = preview_view(data, published_at=now)
    await send_item_preview(update, view, context.services.settings.tz, keyboard)


async def _ask_field(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    await chat_of(update).send_message(
        _(texts.ADD_EDIT_WHICH),
        reply_markup=InlineKeyboardMarkup(
            [
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in CHANGEABLE[:2]],
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in CHANGEABLE[2:4]],
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in CHANGEABLE[4:]],
                [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")],
            ]
        ),
    )


async def _ask_when(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    settings = context.services.settings
    tomorrow = datetime.combine(
        (context.services.scheduling.now().astimezone(settings.tz) + timedelta(days=1)).date(),
        time(9, 0, tzinfo=settings.tz),
    )
    await chat_of(update).send_message(
        _(
            texts.ADD_ASK_WHEN,
            tz=html.escape(settings.timezone),
            example=local_time(tomorrow, settings.tz, WHEN_FORMAT),
        )
    )


async def _ask_language(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [button(name, FLOW, "l", code) for code, name in i18n.LANGUAGE_NAMES.items()],
            [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")],
        ]
    )
    await chat_of(update).send_message(_(texts.ADD_ASK_LANGUAGE), reply_markup=keyboard)


_SHOW: dict[Step, Callable[[Update, BotContext, Mapping[str, Any]], Awaitable[None]]] = {
    Step.TITLE: _ask_title,
    Step.CATEGORY: _ask_category,
    Step.URL: _ask_url,
    Step.SUMMARY: _ask_summary,
    Step.IMAGE: _ask_image,
    Step.PREVIEW: _ask_preview,
    Step.FIELD: _ask_field,
    Step.WHEN: _ask_when,
    Step.LANGUAGE: _ask_language,
}


async def show(update: Update, context: BotContext, step: Step, data: Mapping[str, Any]) -> None:
    """Ask for what `step` needs (its draft is already stored there)."""
    await _SHOW[step](update, context, data)
