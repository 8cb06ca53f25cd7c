"""Notices: one message to one chat, queued by the desk in the transaction that calls for it.

    desk services: queue_notice ─▶ notices (pending) ─claim─▶ sendMessage (HTML, buttons)

The text is written already (in the recipient's language, by whoever queued it); the kind
sends it with its inline keyboard, link previews off, and records the message.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.db.base import utcnow
from bot.db.models.desk import NOTICE_SENT
from bot.delivery.calls import TelegramCalls
from bot.delivery.options import DeliveryOptions
from bot.delivery.runner import Fate, KindStats
from bot.delivery.store import ClaimedNotice, DeliveryStore, NoticeOutcome
from bot.delivery.store.notices import Buttons
from bot.delivery.transport import BroadcastBot


@dataclass
class NoticeStats(KindStats):
    sent: int = 0


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    """The row's buttons as an inline keyboard: each one a callback or a link."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button["text"], callback_data=button.get("callback_data"), url=button.get("url")
                )
                for button in row
            ]
            for row in buttons
        ]
    )


class Notices:
    name = "notices"

    def __init__(
        self,
        *,
        store: DeliveryStore,
        bot: BroadcastBot,
        options: DeliveryOptions,
        owner: str,
    ) -> None:
        self._store = store
        self._bot = bot
        self._options = options
        self._owner = owner
        self.stats = NoticeStats()

    def key(self, unit: ClaimedNotice) -> Hashable:
        return unit.id

    def attempts(self, unit: ClaimedNotice) -> int:
        return unit.attempts

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedNotice]:
        return await self._store.notices.claim(owner, limit, lease_seconds)

    async def record(self, outcomes: Sequence[NoticeOutcome]) -> None:
        await self._store.notices.record(outcomes, self._owner)

    async def release_own(self, owner: str) -> int:
        return await self._store.notices.release_own(owner)

    async def release_stale(self, owner: str) -> int:
        return await self._store.notices.release_stale(owner)

    def settle(self, unit: ClaimedNotice, fate: Fate) -> NoticeOutcome:
        return NoticeOutcome(
            unit.id,
            fate.chat_id,
            fate.status,
            fate.attempts,
            next_attempt_at=fate.next_attempt_at,
            last_error=fate.error,
        )

    async def perform(self, unit: ClaimedNotice, calls: TelegramCalls) -> NoticeOutcome:
        markup = keyboard(unit.buttons)
        markup_json = json.dumps(markup.to_dict(), ensure_ascii=False) if markup else None
        timeout = self._options.send_timeout

        async def send(chat_id: int) -> int:
            return await self._bot.send_html(
                chat_id, unit.html, read_timeout=timeout, markup=markup_json
            )

        answer = await calls.call(unit.chat_id, send)
        self.stats.sent += 1
        return NoticeOutcome(
            unit.id,
            answer.chat_id,
            NOTICE_SENT,
            unit.attempts + 1,
            message_id=answer.value,
            sent_at=utcnow(),
        )
