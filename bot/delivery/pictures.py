"""Each item's picture as the sender hands it to Telegram: by its URL once, then by the
file_id Telegram gave for it, so Telegram fetches the image once, not once per subscriber.

    first worker ─take()─▶ Turn(url, first) ─sendPhoto(url)─▶ learned(file_id) ─▶ items row
    other workers ─take()─ wait ……………………………………………………………………▶ Turn(file_id)

While the first photo of an item is on its way, the other workers wait for it (in this
process; the sender lock makes it the only one sending). Other processes, and this one after a
restart, read the file_id stored with the item. A picture Telegram refuses is marked on the
item (once), and the item goes out as text from then on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.delivery.content import ItemMessage
from bot.delivery.stopping import Stopping, StopSignal
from bot.delivery.store.items import ItemRepository

log = logging.getLogger(__name__)

WAIT_CHECK_SECONDS = 1.0
MAX_PICTURES = 10_000  # remembered at once; the oldest are dropped (the items row keeps them)


@dataclass
class _Picture:
    file_id: str | None
    confirmed: bool = False  # Telegram took it (by this file_id) in this process
    broken: bool = False
    sending: bool = False  # a first send is on its way
    settled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class Turn:
    """What to hand Telegram for one send. `first`: the picture goes out for the first time
    (by URL, or by a file_id not tried yet), and the caller must settle it (`learned`,
    `refused` or `released`)."""

    item_id: int
    key: tuple[int, str]
    picture: str
    first: bool
    image_url: str | None
    image_file_id: str | None


class Pictures:
    def __init__(self, store: ItemRepository, stop: StopSignal) -> None:
        self._store = store
        self._stop = stop
        self._pictures: dict[tuple[int, str], _Picture] = {}
        self.fetches = 0  # sends by URL that went out (Telegram fetched the image for each)
        self.refusals = 0  # pictures Telegram refused (each then sent as text)

    async def take(self, item_id: int, message: ItemMessage) -> Turn | None:
        """The picture to send, waiting while another worker sends it first; None when it
        was refused (send text). Raises Stopping if the sender stops while waiting."""
        reference = message.image_url or message.image_file_id
        if reference is None:
            return None
        key = (item_id, reference)
        picture = self._pictures.get(key)
        if picture is None:
            if len(self._pictures) >= MAX_PICTURES:
                self._pictures = {k: p for k, p in self._pictures.items() if p.sending}
            picture = self._pictures[key] = _Picture(message.image_file_id)
        if message.image_broken:
            picture.broken = True
        elif picture.file_id is None and message.image_file_id:
            picture.file_id = message.image_file_id  # learned by another process
        while True:
            if picture.broken:
                return None
            file_id = picture.file_id
            if picture.confirmed and file_id is not None:
                return Turn(item_id, key, file_id, False, message.image_url, file_id)
            if not picture.sending:
                # the first send (by URL, or by a file_id not tried yet): the others wait, so
                # Telegram fetches a URL once and a wrong file_id is refused once
                picture.sending = True
                picture.settled = asyncio.Event()
                first = file_id or message.image_url
                assert first is not None  # one of them is the reference
                return Turn(item_id, key, first, True, message.image_url, file_id)
            await self._stop.wait(picture.settled, WAIT_CHECK_SECONDS)
            if self._stop.is_set():
                raise Stopping

    async def learned(self, turn: Turn, file_id: str | None) -> None:
        """The photo went out: from now on its file_id goes instead of the URL."""
        if not turn.first:
            return
        picture = self._settle(turn)
        by_url = turn.picture != turn.image_file_id
        if by_url:
            self.fetches += 1
        known = turn.image_file_id if not by_url else file_id
        if picture is not None and known:
            picture.file_id, picture.confirmed = known, True
        if not by_url or not file_id or turn.image_url is None:
            return  # (no photo in the answer: the next send tries the URL again)
        try:
            await self._store.learn_file_id(turn.item_id, turn.image_url, file_id)
        except Exception as exc:  # this process still knows it; the next one fetches again
            log.warning("pictures: could not store the file_id of item %s: %s", turn.item_id, exc)

    async def refused(self, turn: Turn, error: str) -> None:
        """Telegram refused the picture: text from now on; the item is marked (once)."""
        picture = self._settle(turn) if turn.first else self._pictures.get(turn.key)
        if picture is not None:
            picture.broken = True
        self.refusals += 1
        try:
            if await self._store.refuse_picture(
                turn.item_id, turn.image_url, turn.image_file_id, error
            ):
                log.warning("pictures: the picture of item %s was refused: %s", turn.item_id, error)
        except Exception as exc:
            log.warning("pictures: could not mark the picture of item %s: %s", turn.item_id, exc)

    def released(self, turn: Turn) -> None:
        """A first send that ended otherwise (chat gone, retry later): another worker may try."""
        if turn.first:
            self._settle(turn)

    def _settle(self, turn: Turn) -> _Picture | None:
        picture = self._pictures.get(turn.key)
        if picture is not None and picture.sending:
            picture.sending = False
            picture.settled.set()
        return picture

    def forget(self, item_id: int) -> None:
        """The item changed: its picture is read again (one being sent first stays until then)."""
        for key in [k for k, p in self._pictures.items() if k[0] == item_id and not p.sending]:
            del self._pictures[key]
