"""The guided flows (/add, /edit, and naming a category from /categories' buttons) as one
ConversationHandler, keyed by (chat, user).

The step a flow is at lives in the database (`DraftService`), not in the handler's memory:
each message or button loads the draft and goes to the step function of its kind. So after a
restart the next message simply carries on (the text, photo and button handlers are entry
points too), and a draft left too long answers that it expired. One handler for every flow means a
user is in at most one of them; starting one replaces the other.
"""

from __future__ import annotations

import warnings
from typing import Protocol

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.callbacks import StaleCallback, parse_button
from bot.context import BotContext, Services
from bot.i18n import _
from bot.services.drafts import DraftState
from handlers import (
    add_flow,
    add_steps,
    categories,
    common,
    edit_flow,
    publishing,
    review,
    translations,
)
from handlers.ui import ACTIVE, END, Flow
from handlers.updates import chat_of, message_of, query_of, user_of


class FlowSteps(Protocol):
    """What a flow's module offers for its drafts (each step looks the draft's step up)."""

    async def text_step(self, update: Update, context: BotContext, draft: DraftState) -> int: ...

    async def photo_step(self, update: Update, context: BotContext, draft: DraftState) -> int: ...

    async def button_step(
        self,
        update: Update,
        context: BotContext,
        draft: DraftState,
        action: str,
        argument: str | None,
    ) -> int | None: ...

    def cancelled_text(self, draft: DraftState) -> str: ...


# each flow's module, by the kind its drafts store
_STEPS: dict[str, FlowSteps] = {
    Flow.ADD: add_flow,
    Flow.EDIT: edit_flow,
    # started by /categories' buttons (outside this handler): the name is typed next
    Flow.NAME: categories,
    # started by the review queue's buttons: the note to the author is typed next
    Flow.NOTE: review,
}
# the flow a button belongs to, by the name its callback data carries
_BY_BUTTON = {add_steps.FLOW: Flow.ADD, edit_flow.FLOW: Flow.EDIT}
BUTTONS = rf"^v1:({add_steps.FLOW}|{edit_flow.FLOW}):"
# a photo whose caption is a one-line /add publishes at once, in a flow or not
ADD_CAPTION = filters.CaptionRegex(r"^/add(@\w+)?(\s|$)")


def _hours(context: BotContext) -> int:
    return int(context.services.drafts.ttl.total_seconds() // 3600)


async def _draft(update: Update, context: BotContext) -> DraftState | None:
    draft = await context.services.drafts.load(chat_of(update).id, user_of(update).id)
    if draft is not None and draft.expired:
        await chat_of(update).send_message(_(texts.DRAFT_EXPIRED, hours=_hours(context)))
        return None
    return draft


async def on_text(update: Update, context: BotContext) -> int:
    """An admin's message in a private chat: the answer to the step their draft is at."""
    draft = await context.services.drafts.load(chat_of(update).id, user_of(update).id)
    if draft is None:
        await common.plain_text(update, context)
        return END
    if draft.expired:
        await message_of(update).reply_text(_(texts.DRAFT_EXPIRED, hours=_hours(context)))
        return END
    return await _STEPS[draft.kind].text_step(update, context, draft)


async def on_photo(update: Update, context: BotContext) -> int:
    """An admin's photo in a private chat: the picture a flow waits for, else a hint."""
    draft = await context.services.drafts.load(chat_of(update).id, user_of(update).id)
    if draft is None:
        await publishing.photo_hint(update, context)
        return END
    if draft.expired:
        await message_of(update).reply_text(_(texts.DRAFT_EXPIRED, hours=_hours(context)))
        return END
    return await _STEPS[draft.kind].photo_step(update, context, draft)


async def on_button(update: Update, context: BotContext) -> int | None:
    query = query_of(update)
    services = context.services
    user_id = user_of(update).id
    if user_id not in services.admins.user_ids and user_id not in services.authors.user_ids:
        await query.answer(_(texts.NOT_ADMIN), show_alert=True)
        return END
    try:
        flow, action, argument = parse_button(query.data)
        kind = _BY_BUTTON[flow]
    except (StaleCallback, KeyError):
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return None
    draft = await _draft(update, context)
    if draft is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return END
    state = None
    if draft.kind == kind:
        state = await _STEPS[kind].button_step(update, context, draft, action, argument)
    if state is None:  # a button of an earlier step, or forged
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return ACTIVE
    return state


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel: leave the flow at any step (also after a restart: the draft is in the DB)."""
    draft = await context.services.drafts.load(chat_of(update).id, user_of(update).id)
    await context.services.drafts.discard(chat_of(update).id, user_of(update).id)
    flow = _STEPS.get(draft.kind) if draft is not None and not draft.expired else None
    if draft is None or flow is None:
        await message_of(update).reply_text(_(texts.CANCEL_NOTHING))
    else:
        await message_of(update).reply_text(flow.cancelled_text(draft))
    return END


def conversation(services: Services) -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    admin = new & private & services.admins
    # authors use the guided /add too (it ends in Submit for review), not /edit or /translate
    staff = new & private & (services.admins | services.authors)
    # typed as the conversation takes them (its handlers return a state of any type)
    text: MessageHandler[BotContext, object] = MessageHandler(
        staff & filters.TEXT & ~filters.COMMAND, on_text
    )
    photo: MessageHandler[BotContext, object] = MessageHandler(
        staff & filters.PHOTO & ~ADD_CAPTION, on_photo
    )
    buttons: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        on_button, pattern=BUTTONS
    )
    bare_add = filters.Regex(r"^/add(@\w+)?\s*$")  # "/add Category | …" stays the one-liner
    with warnings.catch_warnings():
        # per_message=False is deliberate: a flow belongs to (chat, user), and its buttons
        # are checked against the stored step, not against the message they hang under
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[
                CommandHandler("add", add_flow.start, filters=staff & bare_add),
                CommandHandler("edit", edit_flow.start, filters=admin),
                CommandHandler("translate", translations.start, filters=admin),
                text,
                photo,
                buttons,
            ],
            states={ACTIVE: [text, photo, buttons]},
            fallbacks=[CommandHandler("cancel", cancel, filters=staff)],
            allow_reentry=True,
        )
