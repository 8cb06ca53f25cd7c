"""Corrections by admins: /delete, and the report once an edit's or a deletion's messages
are corrected. The guided /edit is `handlers.edit_flow`; what both take from a command (the
item its number names) is in `handlers.ui`.

Saving an edit updates the messages subscribers already got, in place; deleting retracts
them (Telegram allows that for 48 hours). The service records what to correct with the change
itself, the delivery engine carries it out (durably, within the rate limits), and the report
job tells the admin how it went once it is done (`correction_report`).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot import texts
from bot.callbacks import StaleCallback, button, parse_button
from bot.context import BotContext
from bot.i18n import _
from bot.render import item_card
from handlers import admins
from handlers.presentation import drop_buttons
from handlers.ui import item_from_args, too_old_note, versions_below
from handlers.updates import chat_of, message_of, query_of, user_of

# -- the report (sent by the reports job) -------------------------------------------------------


# -- /delete -----------------------------------------------------------------------------------


async def delete(update: Update, context: BotContext) -> None:
    item = await item_from_args(update, context, "delete")
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
        + too_old_note(context, item, texts.DELETE_PAST_KEEPING)
        + "\n\n"
        + item_card(item, context.services.settings.tz, show_number=True)
        + await versions_below(context, item),
        reply_markup=keyboard,
    )


async def on_delete_button(update: Update, context: BotContext) -> None:
    query = query_of(update)
    if user_of(update).id not in context.services.admins.user_ids:
        await query.answer(admins.button_refusal(context, user_of(update).id), show_alert=True)
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
