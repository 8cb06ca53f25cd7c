"""Publishing by admins: the one-line /add, and the guided /add in a private chat.

The guided flow keeps its state in the database (`DraftService`), not in memory, so it goes
on where it was after a restart of the bot; `handlers.flows` routes messages and buttons to
`text_step` and `button_step` here, which look the draft's step up in their tables.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit

from bot import i18n, texts
from bot.callbacks import button
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import item_card, local_time, visible_length
from bot.services.drafts import DraftState
from bot.services.scheduling import WHEN_FORMAT, BadWhen, parse_when
from bot.services.validation import (
    FIELDS,
    ItemDraft,
    Problem,
    ValidationFailed,
    check_caption,
    clean_field,
    clean_image_url,
    clean_language,
    parse_add_line,
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
    problem_text,
    send_item_preview,
)
from handlers.updates import chat_of, message_of, query_of, user_of

KIND = Flow.ADD
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
_NEXT = {
    Step.TITLE: Step.CATEGORY,
    Step.CATEGORY: Step.URL,
    Step.URL: Step.SUMMARY,
    Step.SUMMARY: Step.IMAGE,
}
# what the preview's "Edit" offers: the text fields, and the picture
_CHANGEABLE = (*FIELDS, Step.IMAGE.value)


def preview_view(data: Mapping[str, Any], *, published_at: datetime, item_id: int = 0) -> ItemView:
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


# -- the one-line form -----------------------------------------------------------------------


def _command_args(text: str) -> str:
    """Everything after the command word, with the bars and spacing as typed."""
    _command, _space, rest = text.partition(" ")
    return rest if _command else ""


def _usage() -> str:
    tr = current()
    return tr(texts.ADD_USAGE, language=tr.language_name(tr.language))


async def add(update: Update, context: BotContext) -> None:
    message = message_of(update)
    args = _command_args(message.text or "")
    if not args.strip():
        await message.reply_text(_usage())
        return
    await _publish_line(update, context, args)


async def add_photo(update: Update, context: BotContext) -> None:
    """A photo from an admin with the caption `/add Category | Title | https://link | …`:
    the one-line /add, published with that picture (the largest size Telegram made)."""
    message = message_of(update)
    caption = message.caption or ""
    try:
        check_caption(caption)
        file_id = checked_photo(message)
    except ValidationFailed as failure:
        await message.reply_text(_(texts.ADD_PROBLEM, problem=problem_text(failure)))
        return
    args = _command_args(caption)
    if not args.strip():
        await message.reply_text(_usage())
        return
    await _publish_line(update, context, args, file_id)


async def photo_hint(update: Update, context: BotContext) -> None:
    """An admin's photo outside a flow and without an /add caption: how to publish it."""
    await message_of(update).reply_text(_(texts.PHOTO_HINT))


async def _publish_line(
    update: Update, context: BotContext, args: str, image_file_id: str | None = None
) -> None:
    message = message_of(update)
    user = user_of(update)
    try:
        draft = replace(parse_add_line(args, current().language), image_file_id=image_file_id)
        published = await context.services.news.publish(draft, actor_id=user.id)
    except ValidationFailed as failure:
        if failure.problem is Problem.DUPLICATE_URL:
            existing = existing_item(failure)
            await message.reply_text(
                _(texts.ADD_DUPLICATE, id=existing.id)
                + "\n\n"
                + item_card(existing, context.services.settings.tz)
            )
        else:
            problem = _(texts.ADD_PROBLEM, problem=problem_text(failure))
            await message.reply_text(problem + "\n\n" + _usage())
        return
    item = published.item
    if published.category_created:
        intro = _(texts.ADD_DONE_NEW_CATEGORY, id=item.id, category=html.escape(item.category))
    else:
        intro = _(texts.ADD_DONE, id=item.id)
    await message.reply_text(intro)
    card = item_card(item, context.services.settings.tz)
    if image_file_id is not None and visible_length(card) <= MessageLimit.CAPTION_LENGTH:
        await message.reply_photo(image_file_id, caption=card)  # with its picture
    else:
        await message.reply_text(card)


async def add_refused(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.ADD_NOT_ALLOWED))


# -- the guided flow -------------------------------------------------------------------------


def _step(draft: DraftState) -> Step | None:
    """The draft's step; None for one this release does not know (stored by an older one)."""
    try:
        return Step(draft.step)
    except ValueError:
        return None


async def _save(update: Update, context: BotContext, step: Step, data: Mapping[str, Any]) -> int:
    await context.services.drafts.save(*draft_keys(update), KIND, step, data)
    return ACTIVE


async def start(update: Update, context: BotContext) -> int:
    """/add without arguments, in a private chat: step 1, the title."""
    # the item is taken to be in the admin's language until the preview's button says else
    await _save(update, context, Step.TITLE, {"language": current().language})
    await message_of(update).reply_text(_(texts.ADD_ASK_TITLE))
    return ACTIVE


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
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in _CHANGEABLE[:2]],
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in _CHANGEABLE[2:4]],
                [button(_(texts.FIELD_NAMES[f]), FLOW, "f", f) for f in _CHANGEABLE[4:]],
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


_ASK: dict[Step, Callable[[Update, BotContext, Mapping[str, Any]], Awaitable[None]]] = {
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


async def _ask(update: Update, context: BotContext, step: Step, data: Mapping[str, Any]) -> int:
    """Store the draft at `step` and ask for what that step needs."""
    if step is Step.PREVIEW:  # a changed field is in: the preview shows the whole item again
        data = {key: value for key, value in data.items() if key != "editing"}
    await _save(update, context, step, data)
    await _ASK[step](update, context, data)
    return ACTIVE


async def _accepted(
    update: Update, context: BotContext, draft: DraftState, field: str, value: str | None
) -> int:
    data = {**draft.data, field: value}
    following = Step.PREVIEW if data.get("editing") else _NEXT.get(Step(field), Step.PREVIEW)
    return await _ask(update, context, following, data)


# -- the end of the flow: publish now, or at the time given


def _item_draft(data: Mapping[str, Any]) -> ItemDraft:
    return ItemDraft(
        category=data["category"],
        title=data["title"],
        url=data.get("url"),
        summary=data.get("summary"),
        language=data.get("language", i18n.ENGLISH),
        image_url=data.get("image_url"),
        image_file_id=data.get("image_file_id"),
    )


async def _publish(update: Update, context: BotContext, draft: DraftState) -> int:
    user_id = user_of(update).id
    chat = chat_of(update)
    try:
        published = await context.services.news.publish(_item_draft(draft.data), actor_id=user_id)
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        # the link was published meanwhile: ask for another one, then back to the preview
        await drop_buttons(update)
        await chat.send_message(_(texts.ADD_LINK_TAKEN, id=existing_item(failure).id))
        return await _save(update, context, Step.URL, {**draft.data, "editing": True})
    await drop_buttons(update)
    await context.services.drafts.discard(*draft_keys(update))
    item = published.item
    if published.category_created:
        done = _(texts.ADD_PUBLISHED_NEW_CATEGORY, id=item.id, category=html.escape(item.category))
    else:
        done = _(texts.ADD_PUBLISHED, id=item.id)
    await chat.send_message(done)
    return END


async def _schedule(update: Update, context: BotContext, draft: DraftState, text: str) -> int:
    settings = context.services.settings
    scheduling = context.services.scheduling
    now = scheduling.now()
    try:
        when = parse_when(text, settings.tz, now)
    except BadWhen as bad:
        problem = _(
            texts.WHEN_PROBLEMS[bad.problem.value],
            tz=html.escape(settings.timezone),
            now=local_time(now, settings.tz, texts.WHEN_FORMAT_SHOWN),
        )
        await message_of(update).reply_text(_(texts.ADD_ASK_AGAIN, problem=problem))
        return ACTIVE
    chat_id, user_id = draft_keys(update)
    try:
        await scheduling.schedule(_item_draft(draft.data), when, actor_id=user_id, chat_id=chat_id)
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        await message_of(update).reply_text(_(texts.ADD_LINK_TAKEN, id=existing_item(failure).id))
        return await _save(update, context, Step.URL, {**draft.data, "editing": True})
    await context.services.drafts.discard(chat_id, user_id)
    await message_of(update).reply_text(
        _(
            texts.ADD_SCHEDULED,
            when=local_time(when, settings.tz, texts.WHEN_FORMAT_SHOWN),
            tz=html.escape(settings.timezone),
        )
    )
    return END


# -- answers: a message while the draft waits at a step


async def _field_answer(update: Update, context: BotContext, draft: DraftState, text: str) -> int:
    """The title, category, link or summary, typed."""
    field = draft.step
    try:
        value = clean_field(field, text, required=True)
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    if field == Step.CATEGORY and value is not None:
        value = await canonical_category(context, value)
    if field == Step.URL and value is not None:
        existing = await context.services.news.find_by_url(value)
        if existing is not None:
            await message_of(update).reply_text(_(texts.ADD_LINK_TAKEN, id=existing.id))
            return ACTIVE
    return await _accepted(update, context, draft, field, value)


async def _image_accepted(
    update: Update,
    context: BotContext,
    draft: DraftState,
    *,
    image_url: str | None = None,
    image_file_id: str | None = None,
) -> int:
    """The picture (or none): a new one replaces whatever the draft had; then the preview."""
    data = {**draft.data, "image_url": image_url, "image_file_id": image_file_id}
    return await _ask(update, context, Step.PREVIEW, data)


async def _image_answer(update: Update, context: BotContext, draft: DraftState, text: str) -> int:
    """The picture's https address, typed instead of a photo."""
    try:
        url = clean_image_url(text)
        if url is None:
            raise ValidationFailed(Problem.BAD_IMAGE_URL)
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    return await _image_accepted(update, context, draft, image_url=url)


async def photo_step(update: Update, context: BotContext, draft: DraftState) -> int:
    """A photo while a guided /add waits: the picture at its step, else a word on when."""
    if _step(draft) is not Step.IMAGE:
        await message_of(update).reply_text(_(texts.ADD_PHOTO_NOT_NOW))
        return ACTIVE
    try:
        file_id = checked_photo(message_of(update))
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    return await _image_accepted(update, context, draft, image_file_id=file_id)


async def _language_answer(
    update: Update, context: BotContext, draft: DraftState, text: str
) -> int:
    """A language code, typed ("pt") rather than picked from the buttons."""
    try:
        code = clean_language(text, default="")
    except ValidationFailed as failure:
        return await ask_again(update, failure)
    if not code:
        await message_of(update).reply_text(_(texts.ADD_ASK_LANGUAGE))
        return ACTIVE
    return await _accepted(update, context, draft, Step.LANGUAGE, code)


_ANSWERS: dict[Step, Callable[[Update, BotContext, DraftState, str], Awaitable[int]]] = {
    Step.TITLE: _field_answer,
    Step.CATEGORY: _field_answer,
    Step.URL: _field_answer,
    Step.SUMMARY: _field_answer,
    Step.IMAGE: _image_answer,
    Step.WHEN: _schedule,
    Step.LANGUAGE: _language_answer,
}


async def text_step(update: Update, context: BotContext, draft: DraftState) -> int:
    """A message while a guided /add waits at `draft.step`."""
    step = _step(draft)
    answer = _ANSWERS.get(step) if step is not None else None
    if answer is None:  # the preview and the field choice take buttons
        await message_of(update).reply_text(_(texts.ADD_USE_BUTTONS))
        return ACTIVE
    return await answer(update, context, draft, message_of(update).text or "")


# -- buttons: (step, action) → what it does; step None means at any step


async def _cancel(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    return await end_flow(update, context, _(texts.ADD_CANCELLED))


async def _skip(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    await query_of(update).answer()
    await drop_buttons(update)
    return await _accepted(update, context, draft, draft.step, None)


async def _skip_image(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    await query_of(update).answer()
    await drop_buttons(update)
    return await _image_accepted(update, context, draft)


async def _pick_category(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if not (argument or "").isdigit():
        return None
    category = await context.services.news.get_category(int(argument or 0))
    if category is None:
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _accepted(update, context, draft, Step.CATEGORY, category.name)


async def _pick_field(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if argument not in _CHANGEABLE:
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _ask(update, context, Step(argument), {**draft.data, "editing": True})


async def _pick_language(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if argument not in i18n.LANGUAGES:
        return None
    await query_of(update).answer()
    await drop_buttons(update)
    return await _accepted(update, context, draft, Step.LANGUAGE, argument)


async def _publish_now(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int:
    await query_of(update).answer()
    return await _publish(update, context, draft)


def _go_to(step: Step) -> ButtonStep:
    async def go(
        update: Update, context: BotContext, draft: DraftState, argument: str | None
    ) -> int:
        await query_of(update).answer()
        await drop_buttons(update)
        return await _ask(update, context, step, draft.data)

    return go


_BUTTONS: dict[tuple[Step | None, str], ButtonStep] = {
    (None, "cancel"): _cancel,
    (Step.URL, "skip"): _skip,
    (Step.SUMMARY, "skip"): _skip,
    (Step.IMAGE, "skip"): _skip_image,
    (Step.CATEGORY, "cat"): _pick_category,
    (Step.FIELD, "f"): _pick_field,
    (Step.PREVIEW, "pub"): _publish_now,
    (Step.PREVIEW, "sched"): _go_to(Step.WHEN),
    (Step.PREVIEW, "edit"): _go_to(Step.FIELD),
    (Step.PREVIEW, "lang"): _go_to(Step.LANGUAGE),
    (Step.LANGUAGE, "l"): _pick_language,
}


async def button_step(
    update: Update, context: BotContext, draft: DraftState, action: str, argument: str | None
) -> int | None:
    """A button of the guided /add; None when it does not belong to the current step."""
    step = _step(draft)
    handler = _BUTTONS.get((step, action)) or _BUTTONS.get((None, action))
    if handler is None:
        return None
    return await handler(update, context, draft, argument)


def cancelled_text(draft: DraftState) -> str:
    return _(texts.ADD_CANCELLED)
