"""Pushes: a published item, to each subscribed chat, as the chat reads it.

claim: fan out what was queued (`FanoutStore.expand`), then lease due deliveries.
perform: the item's message in the chat's language (read once per batch and language), as a
photo or as text, silent in the chat's quiet hours, into its forum topic; a closed topic
sends it to General, a refused picture sends it as text, at once.
record: in batches; a message sent while an /edit or /delete landed gets its correction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace

from bot.db.base import utcnow
from bot.db.models.delivery import CANCELLED, SENT
from bot.delivery.calls import Refused, TelegramCalls
from bot.delivery.content import ItemMessage, Rendered, Shape
from bot.delivery.options import DeliveryOptions
from bot.delivery.pictures import Pictures, Turn
from bot.delivery.runner import Fate, KindStats
from bot.delivery.store import Claimed, DeliveryStore, Outcome, TopicGone
from bot.delivery.telegram_errors import Next
from bot.delivery.transport import BroadcastBot

log = logging.getLogger(__name__)

# the message for an item as subscribers get it, in an interface language (item id,
# language): its text, caption, picture and button (or just an HTML text); None once the
# item is withdrawn
RenderItem = Callable[[int, str], Awaitable[ItemMessage | str | None]]
# told the outcome of each push: "sent", "blocked" (the chat is gone), "failed" (for good),
# "retried" (it will be tried again), "cancelled"
OnOutcome = Callable[[str], None]
# the notice for a group's admins when its forum topic stopped taking pushes (HTML, in the
# chat's language); None: no notice
TopicNotice = Callable[[TopicGone], str | None]


@dataclass
class PushStats(KindStats):
    sent: int = 0
    expanded: int = 0  # delivery rows created
    photos: int = 0  # sent as photos (the rest of `sent` as text)
    picture_fallbacks: int = 0  # a refused picture: sent as text instead
    topic_fallbacks: int = 0  # a closed or deleted forum topic: sent to General instead
    silent: int = 0  # sent without a sound: inside the chat's quiet hours


class Pushes:
    name = "pushes"

    def __init__(
        self,
        *,
        store: DeliveryStore,
        bot: BroadcastBot,
        options: DeliveryOptions,
        pictures: Pictures,
        render: RenderItem,
        after_fanout: Callable[[], None],
        after_stale_sent: Callable[[], None],
        on_outcome: OnOutcome,
        topic_notice: TopicNotice,
    ) -> None:
        self._store = store
        self._bot = bot
        self._options = options
        self._pictures = pictures
        self._render_item = render
        self._after_fanout = after_fanout
        self._after_stale_sent = after_stale_sent
        self._on_outcome = on_outcome
        self._topic_notice = topic_notice
        self.stats = PushStats()
        # one text per (item, interface language), however many chats read it
        self._texts: dict[tuple[int, str], asyncio.Future[Rendered | None]] = {}

    def key(self, unit: Claimed) -> Hashable:
        return (unit.item_id, unit.chat_id)

    def attempts(self, unit: Claimed) -> int:
        return unit.attempts

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        fanouts = await self._store.fanout.expand()
        if fanouts:
            # items published by another process (CLI, replica) arrive here first
            self._after_fanout()
            self.stats.expanded += sum(fanout.deliveries for fanout in fanouts)
        claimed = await self._store.deliveries.claim(owner, limit, lease_seconds)
        if claimed:
            self._texts = {}  # each batch reads its items afresh
        return claimed

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        if await self._store.deliveries.record(outcomes):  # sent while an edit or delete landed
            self._after_stale_sent()

    async def release_own(self, owner: str) -> int:
        return await self._store.deliveries.release_own(owner)

    async def release_stale(self, owner: str) -> int:
        return await self._store.deliveries.release_stale(owner)

    def settle(self, unit: Claimed, fate: Fate) -> Outcome:
        self._on_outcome(fate.label)
        return Outcome(
            unit.item_id,
            fate.chat_id or unit.chat_id,
            fate.status,
            fate.attempts,
            next_attempt_at=fate.next_attempt_at,
            last_error=fate.error,
        )

    # -- the item's message ------------------------------------------------------------------

    def forget(self, item_id: int) -> None:
        """An item was just corrected or withdrawn: the next send reads it again."""
        for key in [key for key in self._texts if key[0] == item_id]:
            del self._texts[key]

    async def rendered(
        self, item_id: int, revision: int = 0, language: str = "en"
    ) -> Rendered | None:
        """The message for an item, read once per claimed batch, and again when a unit was
        claimed at a newer revision than the text cached (so an item withdrawn or corrected
        meanwhile, here or by another process, is not sent, or sent as corrected)."""
        key = (item_id, language)
        task = self._texts.get(key)
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            cached = task.result()
            if cached is not None and cached.revision < revision:
                task = None
        if task is None:
            task = self._texts[key] = asyncio.ensure_future(self._render(item_id, language))
        return await asyncio.shield(task)

    async def _render(self, item_id: int, language: str) -> Rendered | None:
        # the revision first: the text read after it is at least that new, so a message is
        # never recorded as newer than it is (a stale one gets its edit when recorded); the
        # picture's file_id and state come with it, fresh, whatever the renderer cached
        state = await self._store.items.state(item_id)
        message = await self._render_item(item_id, language)
        if message is None or state is None:
            return None
        if isinstance(message, str):
            message = ItemMessage(text=message, caption=message)
        if message.image_url or message.image_file_id:
            message = replace(
                message,
                image_file_id=state.image_file_id or message.image_file_id,
                image_broken=state.image_broken,
            )
        return Rendered(state.revision, message)

    # -- sending -----------------------------------------------------------------------------

    async def perform(self, unit: Claimed, calls: TelegramCalls) -> Outcome:
        rendered = await self.rendered(unit.item_id, unit.revision, unit.language)
        if rendered is None:  # the item was deleted before it reached everyone
            self._on_outcome("cancelled")
            return Outcome(
                unit.item_id, unit.chat_id, CANCELLED, unit.attempts, last_error="item gone"
            )
        message = rendered.message
        shape = message.shape
        turn: Turn | None = None  # the picture, while it goes as a photo
        thread_id = unit.thread_id  # None once the topic turned out closed or deleted
        chat_id = unit.chat_id
        try:
            while True:
                if shape is Shape.PHOTO and turn is None:
                    turn = await self._pictures.take(unit.item_id, message)
                    if turn is None:  # refused: the item goes as text
                        shape = Shape.TEXT
                # decided at the send itself: a unit claimed before the window opened is quiet
                silent = unit.quiet is not None and unit.quiet.covers(utcnow())
                try:
                    answer = await calls.call(
                        chat_id, self._request(message, shape, turn, thread_id, silent)
                    )
                except Refused as refused:
                    chat_id = refused.chat_id
                    found = refused.verdict.next
                    if found is Next.TOPIC_GONE and thread_id is not None:
                        await self._to_general(calls, chat_id, thread_id)
                        thread_id = None  # the same message, to General, at once
                        continue
                    if found is Next.PICTURE_REFUSED and turn is not None:
                        # a broken picture does not lose the push: text, at once
                        await self._pictures.refused(turn, refused.verdict.reason)
                        self.stats.picture_fallbacks += 1
                        turn, shape = None, Shape.TEXT
                        continue
                    raise
                message_id, file_id = answer.value
                if turn is not None:
                    await self._pictures.learned(turn, file_id)
                    turn = None
                    self.stats.photos += 1
                self.stats.sent += 1
                self.stats.silent += silent
                self._on_outcome("sent")
                return Outcome(
                    unit.item_id,
                    answer.chat_id,
                    SENT,
                    unit.attempts + 1,
                    message_id=message_id,
                    sent_at=utcnow(),
                    revision=rendered.revision,
                    photo=shape is Shape.PHOTO,
                )
        finally:
            if turn is not None:  # a first send that did not settle: another worker tries
                self._pictures.released(turn)

    def _request(
        self,
        message: ItemMessage,
        shape: Shape,
        turn: Turn | None,
        thread_id: int | None,
        silent: bool,
    ) -> Callable[[int], Awaitable[tuple[int, str | None]]]:
        timeout = self._options.send_timeout

        async def send(chat_id: int) -> tuple[int, str | None]:
            if turn is not None:
                return await self._bot.send_picture(
                    chat_id,
                    turn.picture,
                    message.caption,
                    read_timeout=timeout,
                    markup=message.markup_json,
                    thread_id=thread_id,
                    silent=silent,
                )
            message_id = await self._bot.send_html(
                chat_id,
                message.text,
                read_timeout=timeout,
                preview_url=message.image_url if shape is Shape.PREVIEW else None,
                markup=message.markup_json,
                thread_id=thread_id,
                silent=silent,
            )
            return message_id, None

        return send

    async def _to_general(self, calls: TelegramCalls, chat_id: int, thread_id: int) -> None:
        """A forum topic refused the push: its subscriptions go to General from now on, and
        whoever noticed first tells the group's admins there (once per chat and topic)."""
        self.stats.topic_fallbacks += 1
        gone = await self._store.deliveries.topic_gone(chat_id, thread_id)
        notice = self._topic_notice(gone) if gone is not None else None
        if notice is None:
            return
        timeout = self._options.send_timeout
        try:
            await calls.call(
                chat_id, lambda chat: self._bot.send_html(chat, notice, read_timeout=timeout)
            )
        except Refused as refused:  # the push itself matters more: it goes on regardless
            log.warning("delivery: could not tell chat %s its topic is gone: %s", chat_id, refused)
