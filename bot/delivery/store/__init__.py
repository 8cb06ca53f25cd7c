"""The sender's SQL: fan-out, and one repository per leased table (deliveries, corrections,
digests, notices), beside what it reads and learns of items and what it records of a chat's
life.

    broadcast_queue ─FanoutStore─▶ deliveries ◀─DeliveryRepository
                                   corrections ◀─CorrectionRepository
                                   digests ◀─DigestRepository
                                   notices ◀─NoticeRepository
    items ◀─ItemRepository            chats (gone, moved) ◀─ChatRepository
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.store.chats import ChatRepository, Migrated
from bot.delivery.store.corrections import (
    ClaimedCorrection,
    CorrectionOutcome,
    CorrectionRepository,
)
from bot.delivery.store.deliveries import (
    ChatSettings,
    Claimed,
    DeliveryRepository,
    Outcome,
    TopicGone,
)
from bot.delivery.store.digests import ClaimedDigest, DigestOutcome, DigestRepository
from bot.delivery.store.fanout import Fanout, FanoutStore
from bot.delivery.store.items import ItemRepository, ItemState
from bot.delivery.store.notices import ClaimedNotice, NoticeOutcome, NoticeRepository


@dataclass
class DeliveryStore:
    """Every repository of the sender, over one session factory."""

    sessions: async_sessionmaker[AsyncSession]
    timezone: str = "UTC"  # the zone of quiet hours for a chat that has chosen none
    fanout: FanoutStore = field(init=False)
    deliveries: DeliveryRepository = field(init=False)
    corrections: CorrectionRepository = field(init=False)
    digests: DigestRepository = field(init=False)
    notices: NoticeRepository = field(init=False)
    items: ItemRepository = field(init=False)
    chats: ChatRepository = field(init=False)

    def __post_init__(self) -> None:
        self.fanout = FanoutStore(self.sessions)
        self.deliveries = DeliveryRepository(self.sessions, timezone=self.timezone)
        self.corrections = CorrectionRepository(self.sessions)
        self.digests = DigestRepository(self.sessions)
        self.notices = NoticeRepository(self.sessions)
        self.items = ItemRepository(self.sessions)
        self.chats = ChatRepository(self.sessions)


__all__ = [
    "ChatRepository",
    "ChatSettings",
    "Claimed",
    "ClaimedCorrection",
    "ClaimedDigest",
    "ClaimedNotice",
    "CorrectionOutcome",
    "CorrectionRepository",
    "DeliveryRepository",
    "DeliveryStore",
    "DigestOutcome",
    "DigestRepository",
    "Fanout",
    "FanoutStore",
    "ItemRepository",
    "ItemState",
    "Migrated",
    "NoticeOutcome",
    "NoticeRepository",
    "Outcome",
    "TopicGone",
]
