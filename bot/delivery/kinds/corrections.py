"""Corrections: edits and deletions of messages already sent.

    /edit, /delete ─▶ corrections (pending) ◀─ a push recorded with an older revision

A text message gets `editMessageText` (with a large preview of the image if the item has a
picture URL now). A photo gets `editMessageMedia` when the picture changed (the new picture is
fetched once, as for pushes: `bot.delivery.pictures`), else `editMessageCaption`. A photo
whose item lost its picture keeps it: Telegram cannot turn a photo into a text message. An
edit cannot follow a group that became a supergroup: its message stays in the old group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

from telegram import InputMediaPhoto
from telegram.constants import ParseMode

from bot.db.models.corrections import EDIT
from bot.db.models.delivery import CANCELLED, PENDING, SENT
from bot.delivery.calls import Refused, TelegramCalls
from bot.delivery.content import ItemMessage, Rendered
from bot.delivery.options import DeliveryOptions
from bot.delivery.pictures import Pictures, Turn
from bot.delivery.runner import Fate, KindStats
from bot.delivery.store import ClaimedCorrection, CorrectionOutcome, DeliveryStore
from bot.delivery.telegram_errors import Next
from bot.delivery.transport import BroadcastBot, largest_file_id

# the item's message as pushes render it (item id, revision claimed, language)
RenderedItem = Callable[[int, int, str], Awaitable[Rendered | None]]


@dataclass
class CorrectionStats(KindStats):
    edited: int = 0
    media_edits: int = 0  # photos that got a new picture
    deleted: int = 0


class Corrections:
    name = "corrections"

    def __init__(
        self,
        *,
        store: DeliveryStore,
        bot: BroadcastBot,
        options: DeliveryOptions,
        pictures: Pictures,
        rendered: RenderedItem,
    ) -> None:
        self._store = store
        self._bot = bot
        self._options = options
        self._pictures = pictures
        self._rendered = rendered
        self.stats = CorrectionStats()
        # the revision an edit in progress shows: a refusal for good settles up to it
        self._shown: dict[Hashable, int] = {}

    def key(self, unit: ClaimedCorrection) -> Hashable:
        return (unit.item_id, unit.chat_id, unit.action)

    def attempts(self, unit: ClaimedCorrection) -> int:
        return unit.attempts

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedCorrection]:
        return await self._store.corrections.claim(owner, limit, lease_seconds)

    async def record(self, outcomes: Sequence[CorrectionOutcome]) -> None:
        await self._store.corrections.record(outcomes)

    async def release_own(self, owner: str) -> int:
        return await self._store.corrections.release_own(owner)

    async def release_stale(self, owner: str) -> int:
        return await self._store.corrections.release_stale(owner)

    def settle(self, unit: ClaimedCorrection, fate: Fate) -> CorrectionOutcome:
        shown = self._shown.pop(self.key(unit), unit.revision)
        return CorrectionOutcome(
            unit.item_id,
            unit.chat_id,
            unit.action,
            # a retry settles nothing newer than what was claimed
            unit.revision if fate.status == PENDING else shown,
            fate.status,
            fate.attempts,
            next_attempt_at=fate.next_attempt_at,
            last_error=fate.error,
        )

    async def perform(self, unit: ClaimedCorrection, calls: TelegramCalls) -> CorrectionOutcome:
        revision = unit.revision
        message: ItemMessage | None = None
        if unit.action == EDIT:
            rendered = await self._rendered(unit.item_id, unit.revision, unit.language)
            if rendered is None:  # deleted meanwhile: the deletion takes over
                return self._outcome(unit, revision, CANCELLED, "item gone", tried=False)
            revision, message = rendered.revision, rendered.message
            self._shown[self.key(unit)] = revision
        # a photo whose picture changed gets the new one, if there is one to give
        media = unit.photo and unit.media and message is not None and message.has_picture
        turn: Turn | None = None
        try:
            while True:
                if media and message is not None and turn is None:
                    turn = await self._pictures.take(unit.item_id, message)
                    media = turn is not None
                try:
                    await calls.call(
                        unit.chat_id, self._request(unit, message, turn), follow_moves=False
                    )
                except Refused as refused:
                    found = refused.verdict.next
                    if found is Next.PICTURE_REFUSED and turn is not None:
                        # the new picture is refused: the caption is still corrected
                        await self._pictures.refused(turn, refused.verdict.reason)
                        turn, media = None, False
                        continue
                    if found is Next.NOT_MODIFIED:  # it already shows this text
                        return self._done(unit, revision)
                    if found is Next.MESSAGE_GONE and message is None and unit.attempts:
                        # an earlier try (timed out, or cut off by a crash) may have deleted
                        # it: either way it is gone, as asked
                        return self._done(unit, revision)
                    raise
                if turn is not None:
                    self.stats.media_edits += 1
                return self._done(unit, revision)
        finally:
            if turn is not None:
                self._pictures.released(turn)

    def _request(
        self, unit: ClaimedCorrection, message: ItemMessage | None, turn: Turn | None
    ) -> Callable[[int], Awaitable[object]]:
        timeout = self._options.send_timeout

        async def correct(chat_id: int) -> object:
            if message is None:
                return await self._bot.delete_message(
                    chat_id, unit.message_id, read_timeout=timeout
                )
            if turn is not None:  # a photo with a new picture
                edited = await self._bot.edit_message_media(
                    InputMediaPhoto(
                        turn.picture, caption=message.caption, parse_mode=ParseMode.HTML
                    ),
                    chat_id=chat_id,
                    message_id=unit.message_id,
                    reply_markup=message.markup,
                    read_timeout=timeout,
                )
                file_id = None if isinstance(edited, bool) else largest_file_id(edited.to_dict())
                await self._pictures.learned(turn, file_id)
                return edited
            if unit.photo:
                return await self._bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=unit.message_id,
                    caption=message.caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.markup,
                    read_timeout=timeout,
                )
            # a text message: with a large preview of the picture, if it has a URL now
            return await self._bot.edit_message_text(
                message.text,
                chat_id=chat_id,
                message_id=unit.message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=message.picture_preview,
                reply_markup=message.markup,
                read_timeout=timeout,
            )

        return correct

    def _done(self, unit: ClaimedCorrection, revision: int) -> CorrectionOutcome:
        if unit.action == EDIT:
            self.stats.edited += 1
        else:
            self.stats.deleted += 1
        return self._outcome(unit, revision, SENT, None, tried=True)

    def _outcome(
        self,
        unit: ClaimedCorrection,
        revision: int,
        status: str,
        error: str | None,
        *,
        tried: bool,
    ) -> CorrectionOutcome:
        self._shown.pop(self.key(unit), None)
        attempts = unit.attempts + 1 if tried else unit.attempts
        return CorrectionOutcome(
            unit.item_id, unit.chat_id, unit.action, revision, status, attempts, last_error=error
        )
