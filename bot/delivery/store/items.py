"""What the sender reads and learns of an item beside its text: its revision and its picture
as Telegram knows it (the file_id it gave, or the refusal)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Item
from bot.db.models.news import FILE_ID_MAX, IMAGE_ERROR_MAX
from bot.delivery.store.leases import rowcount


@dataclass(frozen=True, slots=True)
class ItemState:
    """Read once per claimed batch: the revision (the text read after it is at least that
    new) and the picture as Telegram knows it."""

    revision: int
    image_file_id: str | None
    image_broken: bool


class ItemRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def state(self, item_id: int) -> ItemState | None:
        """Read before the item's text: revision, file_id learned, picture refused."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Item.revision, Item.image_file_id, Item.image_error).where(
                        Item.id == item_id
                    )
                )
            ).first()
        if row is None:
            return None
        return ItemState(row.revision, row.image_file_id, row.image_error is not None)

    async def learn_file_id(self, item_id: int, image_url: str, file_id: str) -> bool:
        """Keep the file_id Telegram gave for the item's picture URL, so every later send (in
        any process) reuses it instead of another fetch. Only while the item still has that
        URL and no file_id; not an edit (the revision stays)."""
        async with self._sessions.begin() as session:
            return (
                await rowcount(
                    session,
                    update(Item)
                    .where(
                        Item.id == item_id,
                        Item.image_url == image_url,
                        Item.image_file_id.is_(None),
                    )
                    .values(image_file_id=file_id[:FILE_ID_MAX])
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

    async def refuse_picture(
        self, item_id: int, image_url: str | None, image_file_id: str | None, error: str
    ) -> bool:
        """Telegram refused the item's picture: it goes out as text from now on, and the
        report job tells the admin. True only for the call that marked it (once per picture,
        across retries and processes); a picture changed meanwhile is left alone."""
        same_url = Item.image_url.is_(None) if image_url is None else Item.image_url == image_url
        same_file = (
            Item.image_file_id.is_(None)
            if image_file_id is None
            else Item.image_file_id == image_file_id
        )
        async with self._sessions.begin() as session:
            return (
                await rowcount(
                    session,
                    update(Item)
                    .where(Item.id == item_id, Item.image_error.is_(None), same_url, same_file)
                    .values(image_error=error[:IMAGE_ERROR_MAX])
                    .execution_options(synchronize_session=False),
                )
                == 1
            )
