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
from handlers.ui import as_filed, category_keyboard, send_item_preview
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
# a version in another language (/translate) takes its story's category and picture: it asks
# for the title, link and summary, then shows the preview
VERSION_NEXT = {Step.TITLE: Step.URL, Step.URL: Step.SUMMARY, Step.SUMMARY: Step.PREVIEW}
# what the preview's "Edit" offers: the text fields, and the picture
CHANGEABLE = (*FIELDS, Step.IMAGE.value)


def is_version(data: Mapping[str, Any]) -> bool:
    """The draft is a version of a published or scheduled item (/translate), not an item of
    its own; `data["ref"]` names that item ("#12", "s3")."""
    return data.get("version_of") is not None or data.get("scheduled_version_of") is not None


def for_review(data: Mapping[str, Any]) -> bool:
    """An author's draft: it ends in Submit for review, not Publish. `data["submission"]`,
    when present, is the draft in the queue it changes."""
    return bool(data.get("review"))


# what a member's suggestion brings (`data["suggestion"]`): these steps are not asked again
PREFILLED = (Step.URL, Step.SUMMARY)


def next_step(step: Step, data: Mapping[str, Any]) -> Step:
    """The step after `step` (an answered field) when the draft is not being edited."""
    following = (VERSION_NEXT if is_version(data) else NEXT).get(step, Step.PREVIEW)
    while data.get("suggestion") and following in PREFILLED and data.get(following.value):
        following = NEXT.get(following, Step.PREVIEW)
    return following


def changeable(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields the preview's "Edit" offers; a version's category is its story's."""
    if is_version(data):
        return tuple(f for f in CHANGEABLE if f != Step.CATEGORY.value)
    return CHANGEABLE


def _language_name(data: Mapping[str, Any]) -> str:
    return html.escape(current().language_name(data.get("language", i18n.ENGLISH)))


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
    if data.get("editing"):
        prompt = _(texts.ADD_ASK_NEW["title"])
    elif is_version(data):
        prompt = _(
            texts.TRANSLATE_ASK_TITLE,
            language=_language_name(data),
            ref=data["ref"],
            title=html.escape(data.get("original_title", "")),
        )
    else:
        prompt = _(texts.ADD_ASK_TITLE)
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
    if is_version(data):
        template = texts.TRANSLATE_ASK_LINK if field is Step.URL else texts.TRANSLATE_ASK_SUMMARY
        first = _(template, language=_language_name(data))
    else:
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
    language = _language_name(data)
    if is_version(data):
        # a version goes out now (a story's versions share its time), in the language asked
        await chat.send_message(_(texts.TRANSLATE_PREVIEW, language=language, ref=data["ref"]))
        rows = [
            [
                button(_(texts.BUTTON_PUBLISH), FLOW, "pub"),
                button(_(texts.BUTTON_EDIT), FLOW, "edit"),
            ]
        ]
    elif for_review(data):
        # an author's draft: it goes to the editors, at once or for a time the author asks
        await chat.send_message(
            _(texts.ADD_PREVIEW_REVIEW) + "\n" + _(texts.ADD_PREVIEW_LANGUAGE, language=language)
        )
        rows = [
            [
                button(_(texts.BUTTON_SUBMIT), FLOW, "sub"),
                button(_(texts.BUTTON_SUBMIT_AT), FLOW, "sched"),
            ],
            [
                button(_(texts.BUTTON_EDIT), FLOW, "edit"),
                button(_(texts.BUTTON_ITEM_LANGUAGE), FLOW, "lang"),
            ],
        ]
    else:
        await chat.send_message(
            _(texts.ADD_PREVIEW) + "\n" + _(texts.ADD_PREVIEW_LANGUAGE, language=language)
        )
        rows = [
            [
                button(_(texts.BUTTON_PUBLISH), FLOW, "pub"),
                button(_(texts.BUTTON_SCHEDULE), FLOW, "sched"),
            ],
            [
                button(_(texts.BUTTON_EDIT), FLOW, "edit"),
                button(_(texts.BUTTON_ITEM_LANGUAGE), FLOW, "lang"),
            ],
        ]
    keyboard = InlineKeyboardMarkup([*rows, [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")]])
    now = context.services.scheduling.now()
    view = await as_filed(context, preview_view(data, published_at=now))
    await send_item_preview(update, view, context.services.settings.tz, keyboard)


async def _ask_field(update: Update, context: BotContext, data: Mapping[str, Any]) -> None:
    fields = changeable(data)
    rows = [
        [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in fields[at : at + 2]]
        for at in range(0, len(fields), 2)
    ]
    await chat_of(update).send_message(
        _(texts.ADD_EDIT_WHICH),
        reply_markup=InlineKeyboardMarkup(
            [*rows, [button(_(texts.BUTTON_CANCEL), FLOW, "cancel")]]
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
