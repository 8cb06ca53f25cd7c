"""Digests: each due (chat, period) row, composed when sent, page by page.

    jobs: create_due ─▶ digests (pending) ─claim─▶ compose (items read now) ─▶ pages

Each page is recorded as it goes, so a crash re-sends at most the page in flight and a long
digest resumes at its next page. The kind knows nothing of items: the composition root hands
it `compose`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db.base import utcnow
from bot.db.models.digests import DIGEST_EMPTY, DIGEST_SENT
from bot.delivery.calls import TelegramCalls
from bot.delivery.options import DeliveryOptions
from bot.delivery.runner import Fate, KindStats
from bot.delivery.stopping import Stopping
from bot.delivery.store import ClaimedDigest, DeliveryStore, DigestOutcome
from bot.delivery.transport import BroadcastBot

log = logging.getLogger(__name__)

# the pages of one chat's digest for (since, until], read now; [] when it lists nothing
Compose = Callable[[int, datetime, datetime], Awaitable[list[str]]]


@dataclass
class DigestStats(KindStats):
    sent: int = 0  # digests fully sent
    pages: int = 0  # messages sent
    empty: int = 0


class Digests:
    name = "digests"

    def __init__(
        self,
        *,
        store: DeliveryStore,
        bot: BroadcastBot,
        options: DeliveryOptions,
        compose: Compose,
        owner: str,
    ) -> None:
        self._store = store
        self._bot = bot
        self._options = options
        self._compose = compose
        self._owner = owner
        self.stats = DigestStats()
        self._progress: dict[Hashable, tuple[int, int]] = {}  # key -> (chat now, pages sent)

    def key(self, unit: ClaimedDigest) -> Hashable:
        return (unit.chat_id, unit.period)

    def attempts(self, unit: ClaimedDigest) -> int:
        return unit.attempts

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedDigest]:
        return await self._store.digests.claim(owner, limit, lease_seconds)

    async def record(self, outcomes: Sequence[DigestOutcome]) -> None:
        await self._store.digests.record(outcomes, self._owner)

    async def release_own(self, owner: str) -> int:
        return await self._store.digests.release_own(owner)

    async def release_stale(self, owner: str) -> int:
        return await self._store.digests.release_stale(owner)

    def settle(self, unit: ClaimedDigest, fate: Fate) -> DigestOutcome:
        chat_id, pages = self._progress.pop(self.key(unit), (unit.chat_id, unit.pages_sent))
        return DigestOutcome(
            chat_id,
            unit.period,
            fate.status,
            fate.attempts,
            pages,
            next_attempt_at=fate.next_attempt_at,
            last_error=fate.error,
        )

    async def perform(self, unit: ClaimedDigest, calls: TelegramCalls) -> DigestOutcome:
        key = self.key(unit)
        self._progress[key] = (unit.chat_id, unit.pages_sent)
        pages = await self._compose(unit.chat_id, unit.since, unit.until)
        if not pages:
            self._progress.pop(key, None)
            self.stats.empty += 1
            return DigestOutcome(
                unit.chat_id, unit.period, DIGEST_EMPTY, unit.attempts, unit.pages_sent, items=0
            )
        chat_id, page = unit.chat_id, unit.pages_sent
        timeout = self._options.send_timeout
        try:
            while page < len(pages):
                text = pages[page]

                async def send(chat: int, text: str = text) -> int:
                    return await self._bot.send_html(chat, text, read_timeout=timeout)

                answer = await calls.call(chat_id, send)
                chat_id, page = answer.chat_id, page + 1
                self._progress[key] = (chat_id, page)
                self.stats.pages += 1
                if page < len(pages):
                    await self._store.digests.page_sent(chat_id, unit.period, self._owner, page)
        except Stopping:
            if page > unit.pages_sent:
                await self._store.digests.page_sent(chat_id, unit.period, self._owner, page)
            self._progress.pop(key, None)
            raise
        self._progress.pop(key, None)
        self.stats.sent += 1
        return DigestOutcome(
            chat_id, unit.period, DIGEST_SENT, unit.attempts + 1, page, sent_at=utcnow()
        )
