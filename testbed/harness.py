"""A bot running against the Bot API emulator, and people who talk to it.

Tests use it the way Telegram users would: send a message, press a button, read what the
bot sent. Everything in between is the real python-telegram-bot and the real database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from telegram.ext import Application

from bot.config import SecretStr, Settings
from bot.lifecycle import running_bot
from bot.sandbox import UpdateTracker
from bot.tasks import awaiting
from emulator import BotApiEmulator, InlineAnswer, InlinePost
from emulator.models import SentMessage

SHUTDOWN_LIMIT_SECONDS = 60
TOKEN = "123456789:TEST-token-for-the-emulator-abcdefgh"
BOT_USERNAME = "CoopNewsBot"
ADMIN_ID = 1001
READER_ID = 2002
GROUP_ID = -100_555_000_111


@dataclass
class Chatter:
    """A conversation with the bot in one chat, as one user."""

    harness: Harness
    chat_id: int
    user_id: int
    chat_type: str = "private"
    first_name: str = "Ada"
    chat_title: str | None = None
    language_code: str | None = None  # the user's Telegram app language
    last_sent: dict = field(default_factory=dict)  # the user's last message, as Telegram sent it

    async def send(self, text: str) -> list[SentMessage]:
        """Send a message; returns what the bot sent in this chat in response."""
        before = self.harness.message_count(self.chat_id)
        self.last_sent = self.harness.emu.send_message(
            text,
            chat_id=self.chat_id,
            user_id=self.user_id,
            chat_type=self.chat_type,
            first_name=self.first_name,
            chat_title=self.chat_title,
            language_code=self.language_code,
        )
        await self.harness.settle()
        return self.harness.emu.messages(self.chat_id)[before:]

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        size_bytes: int = 180_000,
        width: int = 1280,
        height: int = 960,
    ) -> list[SentMessage]:
        """Send a photo (with an optional caption); returns what the bot sent in response.
        `last_sent["photo"][-1]["file_id"]` is the photo's file_id."""
        before = self.harness.message_count(self.chat_id)
        self.last_sent = self.harness.emu.send_photo(
            user_id=self.user_id,
            chat_id=self.chat_id,
            caption=caption,
            size_bytes=size_bytes,
            width=width,
            height=height,
            chat_type=self.chat_type,
            first_name=self.first_name,
            chat_title=self.chat_title,
            language_code=self.language_code,
        )
        await self.harness.settle()
        return self.harness.emu.messages(self.chat_id)[before:]

    async def reply(self, text: str) -> SentMessage:
        """Send a message that must get exactly one reply; returns it."""
        replies = await self.send(text)
        assert len(replies) == 1, [m.text for m in replies]
        return replies[0]

    async def press(
        self, message: SentMessage, label: str | None = None, *, data: str | None = None
    ):
        """Press a button of a bot message (by its label, or with any data, even forged)."""
        if data is None:
            matching = [b for b in message.buttons if label is None or label in b["text"]]
            assert matching, f"no button {label!r} in {[b['text'] for b in message.buttons]}"
            data = matching[0]["callback_data"]
        before = self.harness.message_count(self.chat_id)
        answers_before = len(self.harness.emu.callback_answers)
        self.harness.emu.press_button(self.chat_id, message.message_id, data, self.user_id)
        await self.harness.settle()
        answers = self.harness.emu.callback_answers[answers_before:]
        return self.harness.emu.messages(self.chat_id)[before:], answers

    async def inline(self, query: str, offset: str = "") -> InlineAnswer:
        """Type `@bot query` in this chat (inline mode); returns the bot's answer."""
        answer = await self.harness.emu.inline_query(
            query,
            user_id=self.user_id,
            offset=offset,
            chat_type="sender" if self.chat_type == "private" else self.chat_type,
            first_name=self.first_name,
            language_code=self.language_code,
        )
        await self.harness.settle()
        return answer

    async def choose(self, answer: InlineAnswer, result_id: str) -> InlinePost:
        """Choose a result of `answer`: it is posted in this chat via the bot."""
        post = self.harness.emu.choose_inline_result(
            answer,
            result_id,
            chat_id=self.chat_id,
            chat_type=self.chat_type,
            chat_title=self.chat_title,
        )
        await self.harness.settle()
        return post


@dataclass
class Harness:
    emu: BotApiEmulator
    application: Application
    settings: Settings
    tracker: UpdateTracker
    _ids: itertools.count = field(default_factory=lambda: itertools.count(3000))

    def message_count(self, chat_id: int) -> int:
        return len(self.emu.messages(chat_id))

    async def settle(self) -> None:
        """Wait until the bot has handled every update and then stopped calling the API."""
        await self.tracker.wait_until_handled(self.emu.last_update_id)
        await self.emu.wait_idle(quiet=0.03, timeout=10)

    def private(
        self, user_id: int | None = None, first_name: str = "Ada", language_code: str | None = None
    ) -> Chatter:
        user_id = user_id or next(self._ids)
        return Chatter(self, user_id, user_id, first_name=first_name, language_code=language_code)

    def admin(self, language_code: str | None = None) -> Chatter:
        return self.private(ADMIN_ID, first_name="Admin", language_code=language_code)

    def in_group(
        self,
        user_id: int,
        chat_id: int = GROUP_ID,
        title: str = "Co-op Hub",
        language_code: str | None = None,
    ) -> Chatter:
        return Chatter(
            self,
            chat_id,
            user_id,
            chat_type="supergroup",
            chat_title=title,
            language_code=language_code,
        )

    def group_with_admin(
        self, member_id: int = 4001, admin_id: int = 4002, chat_id: int = GROUP_ID
    ) -> tuple[Chatter, Chatter]:
        """A group Telegram knows, with a plain member and an administrator of it in it."""
        self.emu.register_chat(chat_id, "supergroup", "Co-op Hub")
        self.emu.set_member_status(chat_id, member_id, "member")
        self.emu.set_member_status(chat_id, admin_id, "administrator")
        return self.in_group(member_id, chat_id), self.in_group(admin_id, chat_id)


def test_settings(database_url: str, api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": SecretStr(TOKEN),
        "database_url": database_url,
        "admin_ids": frozenset({ADMIN_ID}),
        "telegram_api_url": api_url,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def bot_harness(database_url: str, **overrides: object) -> AsyncIterator[Harness]:
    """A bot on an emulator; `overrides` are settings (`delivery=DeliveryOptions(...)` too)."""
    stack = contextlib.AsyncExitStack()
    body_failed = False
    try:
        emu = await stack.enter_async_context(
            BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        )
        settings = test_settings(database_url, emu.base_url, **overrides)
        application = await stack.enter_async_context(running_bot(settings))
        tracker = UpdateTracker()
        tracker.install(application)
        yield Harness(emu, application, settings, tracker)
    except BaseException:
        body_failed = True
        raise
    finally:
        problems = await _stop(stack)
        if problems:
            report = "the bot did not stop cleanly:\n" + "\n".join(problems)
            if body_failed:  # the test's own failure goes first; this is in its log
                logging.getLogger(__name__).error(report)
            else:
                pytest.fail(report)


class _StopErrors(logging.Handler):
    """Collects what the bot logs at ERROR while it stops: a step that failed or overran."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


async def _stop(stack: contextlib.AsyncExitStack) -> list[str]:
    """Stop the bot and the emulator; what went wrong, if anything.

    The bot bounds every step of its stop, so this limit only catches a stop that escapes
    those bounds; rather than stall the whole run, it names where every task was waiting.
    """
    errors = _StopErrors()
    logger = logging.getLogger("bot")
    logger.addHandler(errors)
    closing = asyncio.ensure_future(stack.aclose())
    try:
        done, _ = await asyncio.wait((closing,), timeout=SHUTDOWN_LIMIT_SECONDS)
        if not done:
            hung = [
                f"no end after {SHUTDOWN_LIMIT_SECONDS}s; the stop waited at {awaiting(closing)}",
                "tasks still running:",
                *(
                    f"  {task.get_name()} at {awaiting(task)}"
                    for task in asyncio.all_tasks()
                    if task is not asyncio.current_task() and task is not closing
                ),
            ]
            closing.cancel()
            await asyncio.wait((closing,), timeout=5)
            return hung
        closing.result()  # an error of the stop itself
    finally:
        logger.removeHandler(errors)
    return errors.lines


async def until(check: Callable[[], Awaitable[object]], what: str, timeout: float) -> object:  # noqa: ASYNC109
    """Wait for a condition no event tells of (held by the database or another process):
    checked again and again; the timeout only guards against a hang. Returns the check's
    first true result."""
    try:
        async with asyncio.timeout(timeout):
            while not (result := await check()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            return result
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None
