"""The sender's second job: edits and deletions of messages already sent.

    /edit, /delete ─▶ corrections (pending) ◀─ a delivery recorded with an older revision
                           │ claim (lease) ─▶ queue ─▶ workers ─▶ editMessage* / deleteMessage
                           ◀──────── outcomes, written in batches ◀──┘

It works beside the delivery loop, in the same process (the one holding the sender lock), with
the same budget (BULK: replies to people still go first), the same retries (429 waits its
`retry_after`; 5xx, timeouts and dropped connections back off) and the same leases.

A text message gets `editMessageText` (with a large preview of the image if the item has a
picture URL now). A photo gets `editMessageMedia` when the picture changed (the new picture
is fetched once, as for sends: `bot.delivery.pictures`), else `editMessageCaption`. A photo
whose item lost its picture keeps it: Telegram cannot turn a photo into a text message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.db.base import utcnow
from bot.db.models.corrections import EDIT
from bot.db.models.delivery import CANCELLED, FAILED, PENDING, SENT
from bot.delivery.budget import Budget
from bot.delivery.content import ItemMessage, is_picture_error
from bot.delivery.options import DeliveryOptions
from bot.delivery.pictures import Pictures, Turn
from bot.delivery.stopping import Stopping, StopSignal, flood_wait, send_turn
from bot.delivery.store import ClaimedCorrection, CorrectionOutcome, DeliveryStore
from bot.delivery.transport import BroadcastBot, largest_file_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An item's message, and the item revision it is at least as new as."""

    revision: int
    message: ItemMessage


@dataclass
class CorrectionStats:
    edited: int = 0
    media_edits: int = 0  # photos that got a new picture
    deleted: int = 0
    failed: int = 0
    retries: int = 0  # timeouts, network errors, 5xx
    flood_waits: int = 0  # 429s answered


class CorrectionSender:
    """Claims pending corrections while this process is the sender, and carries them out."""

    def __init__(
        self,
        *,
        store: DeliveryStore,
        bot: BroadcastBot,
        budget: Budget,
        options: DeliveryOptions,
        owner: str,
        rendered: Callable[[int, int, str], Awaitable[Rendered | None]],
        is_leader: Callable[[], bool],
        stop: StopSignal,
        poll_seconds: float,
        pictures: Pictures,
    ) -> None:
        self._store = store
        self._pictures = pictures
        self._bot = bot
        self._budget = budget
        self._options = options
        self._owner = owner
        self._rendered = rendered
        self._is_leader = is_leader
        self._stop = stop
        self._poll_seconds = poll_seconds
        self.stats = CorrectionStats()
        self.concurrency = options.concurrency
        self._capacity = max(options.claim_batch, options.concurrency * 2)
        # None: a wake-up call for a worker, so it sees the stop
        self._queue: asyncio.Queue[ClaimedCorrection | None] = asyncio.Queue()
        self._queued: set[tuple[int, int, str]] = set()  # claimed, not yet recorded
        self._outcomes: list[CorrectionOutcome] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._recorded = asyncio.Event()
        # as for deliveries: what a crash could do twice stays under 3 × concurrency
        self.max_unrecorded = 2 * options.concurrency

    def stopping(self) -> None:
        """The sender stops: workers waiting for a row see it at once."""
        for _worker in range(self.concurrency):
            self._queue.put_nowait(None)

    def drop_queued(self) -> None:
        """After the stop: rows claimed but not carried out stay leased in the database until
        the release, and are no longer held here, so a start after the stop claims them again."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queued = {(o.item_id, o.chat_id, o.action) for o in self._outcomes}

    def wake(self) -> None:
        """Corrections may be waiting (an /edit or /delete, or a late send of a changed item)."""
        self._wake.set()

    # -- claiming ----------------------------------------------------------------------------

    async def claim_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self._is_leader():  # the delivery loop takes the lock and old leases
                    # a wake() meant for a leader must not turn this wait into a busy loop
                    self._wake.clear()
                    await self._stop.wait(self._wake, self._options.leader_poll_seconds)
                    continue
                self._wake.clear()
                room = self._capacity - len(self._queued)
                claimed: list[ClaimedCorrection] = []
                if room >= self._capacity // 2:
                    claimed = await self._store.claim_corrections(
                        self._owner,
                        min(room, self._options.claim_batch),
                        self._options.lease_seconds,
                    )
                    for row in claimed:
                        key = (row.item_id, row.chat_id, row.action)
                        if key not in self._queued:
                            self._queued.add(key)
                            self._queue.put_nowait(row)
                if claimed:
                    continue
                if room < self._capacity // 2:  # busy: claim again once workers made room
                    self._flushed.clear()
                    await self._stop.wait(self._flushed, self._poll_seconds)
                else:
                    await self._stop.wait(self._wake, self._poll_seconds)
            except Exception:
                log.exception("corrections: claim loop failed; retrying")
                # not until a wake-up: the poll job's would make it retry five times a
                # second while the database is away
                await self._stop.pause(1.0)

    # -- sending -----------------------------------------------------------------------------

    async def worker(self) -> None:
        while not self._stop.is_set():
            row = await self._queue.get()
            if row is None or self._stop.is_set():
                return  # a row left in the queue stays leased; the release frees it
            try:
                outcome = await self._correct(row)
            except Stopping:
                return
            except Exception as exc:  # a bug must not lose the row: retry it later
                log.exception("corrections: unexpected error for %s", row)
                outcome = self._transient(row, row.revision, f"internal: {exc!r}")
            self._outcomes.append(outcome)

    async def _correct(self, row: ClaimedCorrection) -> CorrectionOutcome:
        revision = row.revision
        message: ItemMessage | None = None
        if row.action == EDIT:
            rendered = await self._rendered(row.item_id, row.revision, row.language)
            if rendered is None:  # deleted meanwhile: the deletion takes over
                return self._final(row, revision, CANCELLED, "item gone", tried=False)
            revision, message = rendered.revision, rendered.message
        # a photo whose picture changed gets the new one, if there is one to give
        media = row.photo and row.media and message is not None and message.has_picture
        turn: Turn | None = None
        try:
            while True:
                while len(self._outcomes) >= self.max_unrecorded and not self._stop.is_set():
                    self._recorded.clear()
                    await self._stop.wait(self._recorded, 0.5)
                if media and turn is None:
                    assert message is not None
                    turn = await self._pictures.take(row.item_id, message)
                    media = turn is not None
                await send_turn(self._stop, self._budget, row.chat_id)
                try:
                    if message is None:
                        await self._bot.delete_message(
                            row.chat_id, row.message_id, read_timeout=self._options.send_timeout
                        )
                    else:
                        await self._edit(row, message, turn)
                except RetryAfter as exc:  # flood control: wait, then the very same request
                    self.stats.flood_waits += 1
                    await flood_wait(self._stop, self._budget, exc)
                    continue
                except ChatMigrated:  # the old group's messages stay as they are
                    return self._final(row, revision, FAILED, "chat migrated")
                except Forbidden as exc:  # blocked, kicked: the chat is gone for every send
                    await self._store.deactivate_chat(row.chat_id, exc.message)
                    return self._final(row, revision, FAILED, exc.message)
                except BadRequest as exc:
                    reason = exc.message.lower()
                    if turn is not None and is_picture_error(exc):
                        # the new picture is refused: the caption is still corrected
                        await self._pictures.refused(turn, exc.message)
                        turn, media = None, False
                        continue
                    if "not modified" in reason:  # it already shows this text
                        return self._done(row, revision)
                    if "not found" in reason and row.action != EDIT and row.attempts:
                        # an earlier try (timed out, or cut off by a crash) may have deleted
                        # it: either way it is gone, as asked
                        return self._done(row, revision)
                    # deleted by someone, older than 48 h, chat gone: retrying cannot help
                    return self._final(row, revision, FAILED, exc.message)
                except (NetworkError, TelegramError) as exc:  # timeouts, dropped connections, 5xx
                    return self._transient(
                        row, revision, f"{exc.__class__.__name__}: {exc.message}"
                    )
                if turn is not None:
                    self.stats.media_edits += 1
                return self._done(row, revision)
        finally:
            if turn is not None:
                self._pictures.released(turn)

    async def _edit(self, row: ClaimedCorrection, message: ItemMessage, turn: Turn | None) -> None:
        timeout = self._options.send_timeout
        if turn is not None:  # a photo with a new picture
            edited = await self._bot.edit_message_media(
                InputMediaPhoto(turn.picture, caption=message.caption, parse_mode=ParseMode.HTML),
                chat_id=row.chat_id,
                message_id=row.message_id,
                reply_markup=message.markup,
                read_timeout=timeout,
            )
            file_id = None if isinstance(edited, bool) else largest_file_id(edited.to_dict())
            await self._pictures.learned(turn, file_id)
        elif row.photo:
            await self._bot.edit_message_caption(
                chat_id=row.chat_id,
                message_id=row.message_id,
                caption=message.caption,
                parse_mode=ParseMode.HTML,
                reply_markup=message.markup,
                read_timeout=timeout,
            )
        else:  # a text message: with a large preview of the picture, if it has a URL now
            await self._bot.edit_message_text(
                message.text,
                chat_id=row.chat_id,
                message_id=row.message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=message.picture_preview,
                reply_markup=message.markup,
                read_timeout=timeout,
            )

    def _done(self, row: ClaimedCorrection, revision: int) -> CorrectionOutcome:
        if row.action == EDIT:
            self.stats.edited += 1
        else:
            self.stats.deleted += 1
        return CorrectionOutcome(
            row.item_id, row.chat_id, row.action, revision, SENT, row.attempts + 1
        )

    def _final(
        self, row: ClaimedCorrection, revision: int, status: str, reason: str, *, tried: bool = True
    ) -> CorrectionOutcome:
        if status == FAILED:
            self.stats.failed += 1
            log.info(
                "corrections: could not %s message in chat %s: %s", row.action, row.chat_id, reason
            )
        attempts = row.attempts + 1 if tried else row.attempts
        return CorrectionOutcome(
            row.item_id, row.chat_id, row.action, revision, status, attempts, last_error=reason
        )

    def _transient(self, row: ClaimedCorrection, revision: int, error: str) -> CorrectionOutcome:
        attempts = row.attempts + 1
        if attempts >= self._options.max_attempts:
            return self._final(row, revision, FAILED, error)
        self.stats.retries += 1
        return CorrectionOutcome(
            row.item_id,
            row.chat_id,
            row.action,
            # a retry settles nothing newer than what was claimed
            row.revision,
            PENDING,
            attempts,
            next_attempt_at=utcnow() + self._options.backoff(attempts),
            last_error=error,
        )

    # -- writing outcomes --------------------------------------------------------------------

    async def write_outcomes(self) -> None:
        while self._outcomes:
            batch = self._outcomes[: self._options.claim_batch * 2]
            await self._store.record_corrections(batch)
            del self._outcomes[: len(batch)]
            for outcome in batch:
                self._queued.discard((outcome.item_id, outcome.chat_id, outcome.action))
            self._flushed.set()
            self._recorded.set()
