"""Telegram handlers. `register` is the one place that decides their order and scope."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import Services
from handlers import browse, common, publishing

# Only new messages run commands: an edited "/add …" must not publish a second item.
NEW = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def register(application: Application, services: Services) -> None:
    # group -1 runs before every other group and never stops them: each chat is known
    # (for deliveries) whatever the update turns out to be
    application.add_handler(TypeHandler(Update, common.remember_chat), group=-1)

    application.add_handlers(
        [
            CommandHandler("start", common.start, filters=NEW),
            CommandHandler("help", common.show_help, filters=NEW),
            CommandHandler("latest", browse.latest, filters=NEW),
            CommandHandler("category", browse.category, filters=NEW),
            # admins first; the same command from anyone else falls through to a refusal
            CommandHandler("add", publishing.add, filters=NEW & services.admins),
            CommandHandler("add", publishing.add_refused, filters=NEW),
            CallbackQueryHandler(browse.on_button, pattern=r"^v1:(more|cat):"),
            # any other button (forged, or from an older release) has expired
            CallbackQueryHandler(browse.on_button),
        ]
    )

    # Catch-alls come last, so they only see what no command above took. In groups only
    # commands addressed to this bot get a hint: the others may be for another bot.
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            MessageHandler(NEW & filters.COMMAND & private, common.unknown_command),
            MessageHandler(NEW & filters.COMMAND & common.ADDRESSED_TO_ME, common.unknown_command),
            MessageHandler(NEW & private & ~filters.COMMAND, common.plain_text),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, common.edited_message),
        ]
    )
    application.add_error_handler(common.on_error)
