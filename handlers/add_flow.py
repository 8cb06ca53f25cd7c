"""The guided /add in a private chat: an admin answers one step at a time, sees a preview,
then publishes now or at a time given.

The flow keeps its state in the database (`DraftService`), not in memory, so it goes on where
it was after a restart of the bot; `handlers.flows` routes messages and buttons to
`text_step`, `photo_step` and `button_step` here, which look the draft's step up in their
tables. The steps and what each shows are `handlers.add_steps`.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from telegram import Update

from bot import i18n, texts
from bot.context import BotContext
from bot.i18n import _, current
from bot.render import local_time
from bot.services.drafts import DraftState
from bot.services.scheduling import BadWhen, parse_when
from bot.services.stories import VersionRefused
from bot.services.submissions import Outcome
from bot.services.validation import (
    ItemDraft,
    Problem,
    ValidationFailed,
    clean_field,
    clean_image_url,
    clean_language,
)
from handlers.add_steps import Step, changeable, for_review, is_version, next_step, show
from handlers.presentation import drop_buttons
from handlers.review import outcome_text
from handlers.translations import publish_version, refusal_text
from handlers.ui import (
    ACTIVE,
    END,
    ButtonStep,
    Flow,
    ask_again,
    canonical_category,
    checked_photo,
    draft_keys,
    end_flow,
    existing_item,
)
from handlers.updates import chat_of, message_of, query_of, user_of

KIND = Flow.ADD


def _step(draft: DraftState) -> Step | None:
    """The draft's step; None for one this release does not know (stored by an older one)."""
    try:
        return Step(draft.step)
    except ValueError:
        return None


async def _save(update: Update, context: BotContext, step: Step, data: Mapping[str, Any]) -> int:
    await context.services.drafts.save(*draft_keys(update), KIND, step, data)
    return ACTIVE


def is_author(context: BotContext, user_id: int) -> bool:
    """An author (not an editor or owner): what they add goes to the review queue."""
    services = context.services
    return user_id in services.authors.user_ids and user_id not in services.admins.user_ids


async def start(update: Update, context: BotContext) -> int:
    """/add without arguments, in a private chat: step 1, the title."""
    # the item is taken to be in the admin's language until the preview's button says else
    data: dict[str, Any] = {"language": current().language}
    if is_author(context, user_of(update).id):
        data["review"] = True
    await _save(update, context, Step.TITLE, data)
    await message_of(update).reply_text(_(texts.ADD_ASK_TITLE))
    return ACTIVE


async def _ask(update: Update, context: BotContext, step: Step, data: Mapping[str, Any]) -> int:
    """Store the draft at `step` and ask for what that step needs."""
    if step is Step.PREVIEW:  # a changed field is in: the preview shows the whole item again
        data = {key: value for key, value in data.items() if key != "editing"}
    await _save(update, context, step, data)
    await show(update, context, step, data)
    return ACTIVE


async def _accepted(
    update: Update, context: BotContext, draft: DraftState, field: str, value: str | None
) -> int:
    data = {**draft.data, field: value}
    following = Step.PREVIEW if data.get("editing") else next_step(Step(field), data)
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
        if is_version(draft.data):
            return await _publish_version(update, context, draft)
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


async def _submit(
    update: Update, context: BotContext, draft: DraftState, publish_at: datetime | None = None
) -> int:
    """An author's draft, into the review queue (again, when it changes one sent back)."""
    settings = context.services.settings
    review = context.services.review
    user_id = user_of(update).id
    item = _item_draft(draft.data)
    try:
        if draft.get("submission") is not None:
            decided = await review.resubmit(
                user_id, draft["submission"], item, publish_at=publish_at
            )
            if decided.outcome is not Outcome.DONE:
                await drop_buttons(update)
                await context.services.drafts.discard(*draft_keys(update))
                await chat_of(update).send_message(outcome_text(decided, draft["submission"]))
                return END
            assert decided.submission is not None
            submission = decided.submission
        else:
            submission = await review.submit(user_id, item, publish_at=publish_at)
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        await drop_buttons(update)
        await chat_of(update).send_message(_(texts.ADD_LINK_TAKEN, id=existing_item(failure).id))
        return await _save(update, context, Step.URL, {**draft.data, "editing": True})
    await drop_buttons(update)
    await context.services.drafts.discard(*draft_keys(update))
    if publish_at is None:
        done = _(texts.ADD_SUBMITTED, id=submission.id)
    else:
        when = local_time(publish_at, settings.tz, texts.WHEN_FORMAT_SHOWN)
        done = _(texts.ADD_SUBMITTED_AT, id=submission.id, when=when, tz=settings.timezone)
    await chat_of(update).send_message(done)
    return END


async def _publish_version(update: Update, context: BotContext, draft: DraftState) -> int:
    """The end of a guided /translate: the version published, or scheduled with its item."""
    data = draft.data
    scheduled = data.get("scheduled_version_of") is not None
    original = data["scheduled_version_of"] if scheduled else data["version_of"]
    try:
        done, _item = await publish_version(
            update, context, _item_draft(data), original, scheduled=scheduled
        )
    except VersionRefused as refused:  # the story was deleted, or got that language, meanwhile
        done = refusal_text(refused, data["ref"], data["language"])
    await drop_buttons(update)
    await context.services.drafts.discard(*draft_keys(update))
    await chat_of(update).send_message(done)
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
    if for_review(draft.data):  # an author asks for a time; an editor approves it
        return await _submit(update, context, draft, when)
    chat_id, user_id = draft_keys(update)
    try:
        scheduled = await scheduling.schedule(
            _item_draft(draft.data), when, actor_id=user_id, chat_id=chat_id
        )
    except ValidationFailed as failure:
        if failure.problem is not Problem.DUPLICATE_URL:
            raise
        await message_of(update).reply_text(_(texts.ADD_LINK_TAKEN, id=existing_item(failure).id))
        return await _save(update, context, Step.URL, {**draft.data, "editing": True})
    await context.services.drafts.discard(chat_id, user_id)
    scheduled_at = _(
        texts.ADD_SCHEDULED,
        when=local_time(when, settings.tz, texts.WHEN_FORMAT_SHOWN),
        tz=html.escape(settings.timezone),
    )
    versions_hint = _(texts.SCHEDULED_VERSIONS_HINT, ref=scheduled.ref)
    await message_of(update).reply_text(scheduled_at + "\n" + versions_hint)
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
    return await end_flow(update, context, cancelled_text(draft))


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
    if argument not in changeable(draft.data):
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
) -> int | None:
    if for_review(draft.data):  # an author's preview has no Publish: forged
        return None
    await query_of(update).answer()
    return await _publish(update, context, draft)


async def _submit_now(
    update: Update, context: BotContext, draft: DraftState, argument: str | None
) -> int | None:
    if not for_review(draft.data):
        return None
    await query_of(update).answer()
    return await _submit(update, context, draft)


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
    (Step.PREVIEW, "sub"): _submit_now,
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
    return _(texts.ADD_REVIEW_CANCELLED if for_review(draft.data) else texts.ADD_CANCELLED)
