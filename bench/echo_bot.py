"""The baseline: a bare python-telegram-bot echo bot, polling as Co-op News Bot does."""

from __future__ import annotations

import asyncio
import os
import signal

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text or "echo")


async def tap(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    # the same two calls a category tap makes: answer the query, send a message
    await update.callback_query.answer()
    await update.effective_chat.send_message(update.callback_query.data or "tap")


async def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(tap))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=10)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


if __name__ == "__main__":
    asyncio.run(main())
