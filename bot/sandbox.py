"""`coopbot sandbox`: the real bot, the Bot API emulator and a terminal chat in one process.

You type as a Telegram user (an admin of the bot); the bot's replies are printed with their
formatting and inline buttons, which you press by typing their number, e.g. `[1]`. When
stdin is not a terminal, each line is one message and the transcript goes to stdout, so
`printf '/latest\\n' | coopbot sandbox` works in a script.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import ClassVar, TextIO

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot import i18n, texts
from bot.config import SANDBOX_DATABASE_URL, SecretStr, Settings, listen_address
from bot.lifecycle import running_bot
from bot.logs import setup_logging
from bot.services.seed import seed
from emulator import BotApiEmulator, SentMessage

SANDBOX_TOKEN = "1000000001:SANDBOX-not-a-real-token-000000000000"
SANDBOX_USER_ID = 424242
SANDBOX_FIRST_NAME = "Sandbox"
_BUTTON = re.compile(r"^\[(\d+)\]$")


class UpdateTracker:
    """Knows which updates the bot has finished handling.

    Registered in the last handler group, it runs after every other group for each update
    (a failing handler does not stop later groups), so "seen here" means "handled".
    """

    def __init__(self) -> None:
        self.handled_up_to = 0
        self._changed = asyncio.Event()

    def install(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self._seen), group=10_000)

    async def _seen(self, update: Update, _context: object) -> None:
        self.handled_up_to = max(self.handled_up_to, update.update_id)
        self._changed.set()

    async def wait_until_handled(self, update_id: int, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while self.handled_up_to < update_id:
                self._changed.clear()
                await self._changed.wait()


class _TerminalHtml(HTMLParser):
    """Telegram HTML to terminal text: bold/italic as ANSI (on a tty), links as `text ‹url›`."""

    STYLES: ClassVar[dict[str, str]] = {
        "b": "1",
        "strong": "1",
        "i": "3",
        "em": "3",
        "u": "4",
        "code": "2",
        "pre": "2",
    }

    def __init__(self, ansi: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._ansi = ansi
        self._out: list[str] = []
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append(dict(attrs).get("href"))
        elif self._ansi and tag in self.STYLES:
            self._out.append(f"\x1b[{self.STYLES[tag]}m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            href = self._links.pop() if self._links else None
            if href:
                self._out.append(f" ‹{href}›")
        elif self._ansi and tag in self.STYLES:
            self._out.append("\x1b[0m")

    def handle_data(self, data: str) -> None:
        self._out.append(data)

    def render(self, markup: str) -> str:
        self.feed(markup)
        self.close()
        return "".join(self._out)


def _callback_data(message: SentMessage) -> set[str]:
    return {b["callback_data"] for b in message.buttons if "callback_data" in b}


def render_message(message: SentMessage, *, ansi: bool, first_button: int = 1) -> list[str]:
    body = (
        _TerminalHtml(ansi).render(message.html)
        if message.html and message.parse_mode == "HTML"
        else message.text
    )
    lines = body.splitlines() or [""]
    for row in message.reply_markup or []:
        labels = []
        for button in row:
            labels.append(f"[{first_button}] {button['text']}")
            first_button += 1
        lines.append("   ".join(labels))
    return lines


@dataclass
class _Chat:
    emu: BotApiEmulator
    tracker: UpdateTracker
    out: TextIO
    ansi: bool
    tr: i18n.Translator = field(default_factory=lambda: i18n.translator(i18n.ENGLISH))
    chat_id: int = SANDBOX_USER_ID
    seen: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (edits, text) shown
    buttons: list[tuple[int, str]] = field(default_factory=list)  # (message id, data)
    answers_seen: int = 0

    async def say(self, text: str) -> None:
        message = self.emu.send_message(
            text,
            chat_id=self.chat_id,
            user_id=SANDBOX_USER_ID,
            first_name=SANDBOX_FIRST_NAME,
            language_code=self.tr.language,
        )
        del message
        await self._settle()

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self._print([self.tr(texts.SANDBOX_NO_BUTTON, number=number)])
            return
        message_id, data = self.buttons[number - 1]
        message = self.emu.bot_message(self.chat_id, message_id)
        if message is None or message.deleted or data not in _callback_data(message):
            # as in Telegram: a button the bot has since removed cannot be pressed
            self._print([self.tr(texts.SANDBOX_BUTTON_GONE, number=number)])
            return
        self.emu.press_button(self.chat_id, message_id, data, SANDBOX_USER_ID)
        await self._settle()

    async def _settle(self) -> None:
        await self.tracker.wait_until_handled(self.emu.last_update_id)
        await self.emu.wait_idle(quiet=0.05, timeout=15)
        self.show_news()

    def show_news(self) -> None:
        for answer in self.emu.callback_answers[self.answers_seen :]:
            if answer.get("text"):
                self._print([f"(popup) {answer['text']}"])
        self.answers_seen = len(self.emu.callback_answers)
        for message in self.emu.messages(self.chat_id):
            shown = self.seen.get(message.message_id)
            if shown is not None and shown[0] == message.edit_count:
                continue
            self.seen[message.message_id] = (message.edit_count, message.text)
            first = len(self.buttons) + 1
            lines = render_message(message, ansi=self.ansi, first_button=first)
            for row in message.reply_markup or []:
                self.buttons.extend((message.message_id, b.get("callback_data", "")) for b in row)
            if shown is not None and shown[1] == message.text:
                # only the buttons changed: say so instead of printing the message again
                buttons = lines[len(message.text.splitlines()) :]
                self._print(
                    [self.tr(texts.SANDBOX_BUTTONS_CHANGED), *(f"     {b}" for b in buttons)]
                )
                continue
            prefix = "bot ✎" if shown is not None else "bot"
            self._print([f"{prefix}: {lines[0]}", *(f"     {line}" for line in lines[1:])])

    def _print(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()


async def _show_pushes(chat: _Chat) -> None:
    while True:
        await asyncio.sleep(0.5)
        chat.show_news()


async def _read_line(interactive: bool) -> str | None:
    prompt = "you › " if interactive else ""
    loop = asyncio.get_running_loop()
    try:
        line = await loop.run_in_executor(
            None, lambda: input(prompt) if interactive else sys.stdin.readline()
        )
    except EOFError:
        return None
    if not interactive and line == "":
        return None
    return line.rstrip("\n")


def sandbox_settings(base: Settings, api_url: str, database_url: str | None) -> Settings:
    """The operator's settings, pointed at the emulator and the sandbox's own store."""
    return base.model_copy(
        update={
            "bot_token": SecretStr(SANDBOX_TOKEN),
            "database_url": database_url or SANDBOX_DATABASE_URL,
            "admin_ids": frozenset({SANDBOX_USER_ID, *base.admin_ids}),
            "telegram_api_url": api_url,
            "log_level": "WARNING" if base.log_level == "INFO" else base.log_level,
        }
    )


def with_web(settings: Settings, listen: str) -> Settings:
    """The sandbox's settings serving the newsroom on `listen` (a local address), with
    opened links counted."""
    host, port = listen_address("--web", listen)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return settings.model_copy(
        update={"web_url": f"http://{where}", "web_listen": listen, "click_tracking": True}
    )


async def run_sandbox(
    base: Settings,
    *,
    database_url: str | None = None,
    language: str = i18n.ENGLISH,
    web: str | None = None,
) -> int:
    """The offline chat, as a user whose Telegram app speaks `language`; with `web`
    (host:port), the newsroom too, and a sign-in link for the sandbox's admin."""
    tr = i18n.translator(language)
    interactive = sys.stdin.isatty()
    out = sys.stdout
    async with BotApiEmulator(token=SANDBOX_TOKEN, bot_username="CoopNewsSandboxBot") as emu:
        settings = sandbox_settings(base, emu.base_url, database_url)
        if web is not None:
            settings = with_web(settings, web)
        # the chat is the interface here: the log only speaks up about problems
        setup_logging(settings.log_level)
        async with running_bot(settings) as application:
            tracker = UpdateTracker()
            tracker.install(application)
            services = application.bot_data["services"]
            await seed(services.news, services.categories, only_if_empty=True)
            chat = _Chat(emu, tracker, out, ansi=interactive and out.isatty(), tr=tr)
            if interactive:
                out.write(
                    tr(texts.SANDBOX_BANNER, first_name=SANDBOX_FIRST_NAME, user_id=SANDBOX_USER_ID)
                    + "\n"
                )
            chat.show_news()
            if web is not None:
                # the sandbox chat follows everything, so what is composed on the web
                # arrives here
                await chat.say("/subscribe all")
                token = await services.web_sessions.issue_link(SANDBOX_USER_ID)
                link = f"{settings.web_url}/login/{token}"
                out.write(tr(texts.SANDBOX_WEB, url=settings.web_url, link=link) + "\n")
                out.flush()
            # pushed items (subscriptions) arrive on their own, not as replies
            pushes = asyncio.create_task(_show_pushes(chat)) if interactive else None
            while (line := await _read_line(interactive)) is not None:
                line = line.strip()
                if not line:
                    continue
                if line in {"/quit", "/exit"}:
                    break
                if not interactive:
                    out.write(f"you: {line}\n")
                if pressed := _BUTTON.match(line):
                    await chat.press(int(pressed.group(1)))
                else:
                    await chat.say(line)
            if pushes is not None:
                pushes.cancel()
            else:
                # let a broadcast started by the last lines reach the transcript
                await emu.wait_idle(quiet=2.0, timeout=30)
                chat.show_news()
            if interactive:
                out.write(tr(texts.SANDBOX_BYE) + "\n")
    return 0
