"""A Telegram Bot API emulator for tests, the sandbox and benchmarks.

Example::

    async with BotApiEmulator(token="123456:TEST-TOKEN") as emu:
        app = Application.builder().token(emu.token).base_url(emu.base_url).build()
        emu.send_message("/start", user_id=42)
        messages = await emu.wait_for_messages(42, 1)

Webhook mode: once the bot called setWebhook (``http://127.0.0.1:<port>/...`` URLs are
accepted besides Telegram's https ones), queued updates are POSTed to it; see
``set_webhook_targets``, ``wait_webhook_idle``, ``webhook_info``, ``webhook_stats``,
``webhook_attempts``, ``webhook_timeout`` and ``webhook_retry_delays``.

Inline mode: ``inline_query`` (type ``@bot text``, wait for the answer),
``choose_inline_result`` (post it "via" the bot), and the switches ``inline_mode``,
``inline_feedback``, ``inline_cache`` and ``inline_query_timeout``; see ``emulator.inline``.

Photos: ``sendPhoto`` by URL (fetched by the emulator itself, only from 127.0.0.1 or what a test
puts in ``files.hosted``), by upload and by ``file_id``; ``editMessageMedia`` and
``editMessageCaption``; ``send_photo(user_id=...)`` for a user's photo. ``files.downloads``
counts the fetches per URL and ``files.uploads`` the uploads (see ``emulator.files``).
"""

from .errors import ApiError
from .faults import Faults
from .files import FileStore, HostedFile, make_png
from .html import HtmlParseError, parse_html, utf16_len
from .inline import InlineAnswer, InlinePost, InlineResult
from .limits import RateLimiter
from .models import CallRecord, SentMessage, Stats
from .server import BotApiEmulator
from .webhook import WebhookAttempt, WebhookTargetStats

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "CallRecord",
    "Faults",
    "FileStore",
    "HostedFile",
    "HtmlParseError",
    "InlineAnswer",
    "InlinePost",
    "InlineResult",
    "RateLimiter",
    "SentMessage",
    "Stats",
    "WebhookAttempt",
    "WebhookTargetStats",
    "make_png",
    "parse_html",
    "utf16_len",
]
