"""The Bot API emulator in a process of its own, so a benchmark's client and server do not
share one CPU. Prints `ready <base_url>` when listening; on SIGTERM prints its counters as one
JSON line and exits.

    python -m bench.emulator_process --limits on|off [--lean] [--record-texts]

`--lean` (for a million chats): every chat id is known without being registered, and sent
messages are counted but not kept, so the emulator's own memory stays small.
`--record-texts` (with `--lean`): the counters also carry `texts`, each distinct message
source (the HTML as sent) with the chats it went to, so a benchmark can check who got what.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

from emulator import BotApiEmulator
from emulator.shapes import chat_dict
from testbed.harness import BOT_USERNAME, TOKEN


class LeanEmulator(BotApiEmulator):
    # message source -> the chats it was sent to; None: not recorded
    texts: dict[str, list[int]] | None = None

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        found = super().chat(chat_id)
        if found is None:
            kind = "private" if chat_id > 0 else "supergroup"
            found = chat_dict(chat_id, kind, first_name="Reader", title=f"Chat {chat_id}")
        return found

    def store_bot_message(self, message: Any) -> None:
        # counted by sendMessage; not kept
        if self.texts is not None:
            self.texts.setdefault(message.html or message.text, []).append(message.chat_id)

    def next_message_id(self, chat_id: int) -> int:
        self._lean_ids = getattr(self, "_lean_ids", 0) + 1
        return self._lean_ids

    def bot_message_dict(self, message: Any, *, nested: bool = True) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self.chat(message.chat_id),
            "date": message.date,
        }
        if message.photo is not None:  # the sender learns the file_id from it
            result["photo"] = message.photo
            if message.caption:
                result["caption"] = message.caption
            return result
        result["text"] = message.text
        if message.entities:
            result["entities"] = message.entities
        return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", choices=["on", "off"], default="off")
    parser.add_argument("--lean", action="store_true")
    parser.add_argument("--record-texts", action="store_true")
    args = parser.parse_args()
    if args.record_texts and not args.lean:
        parser.error("--record-texts needs --lean")
    kind = LeanEmulator if args.lean else BotApiEmulator
    emu = kind(token=TOKEN, bot_username=BOT_USERNAME)
    if args.record_texts:
        emu.texts = {}
    emu.record_calls = False
    emu.enforce_limits = args.limits == "on"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with emu:
        print("ready", emu.base_url, flush=True)
        await stop.wait()
        stats = emu.stats
        counters: dict[str, Any] = {
            "requests": stats.requests,
            "sent_messages": stats.sent_messages,
            "too_many_requests": stats.too_many_requests,
            "errors": stats.errors,
            "sendMessage": stats.per_method.get("sendMessage", 0),
            "sendPhoto": stats.per_method.get("sendPhoto", 0),
            "sent_photos": stats.sent_photos,
            # images Telegram had to take in: fetched by URL, or uploaded
            "downloads": sum(emu.files.downloads.values()),
            "uploads": emu.files.uploads,
        }
        if args.record_texts:
            counters["texts"] = emu.texts
        print(json.dumps(counters), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
