"""What the web newsroom lists: items with filters and paging (newest first, by id), one
item with its corrections and versions. Reach figures come from `bot.services.reach`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Category, Correction, CorrectionRequest, Item
from bot.services.news import item_view
from bot.services.views import ItemView

PAGE_SIZE = 50
PUBLISHED, DELETED = "published", "deleted"


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: int
    title: str
    category: str
    language: str
    published_at: datetime
    deleted: bool


@dataclass(frozen=True, slots=True)
class ItemsPage:
    rows: tuple[ItemRow, ...]
    older: int | None  # the id to list before for the next page; None: the last page


@dataclass(frozen=True, slots=True)
class CorrectionProgress:
    action: str  # "edit" or "delete"
    created_at: datetime
    total: int
    done: int
    failed: int
    pending: int


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: ItemView
    deleted: bool
    revision: int
    corrections: tuple[CorrectionProgress, ...]
    versions: tuple[ItemRow, ...]  # the story in other languages


def _row(item: Item, category: str) -> ItemRow:
    return ItemRow(
        item.id, item.title, category, item.language, item.published_at, item.deleted_at is not None
    )


class NewsroomService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def items(
        self,
        *,
        before: int | None = None,
        category_id: int | None = None,
        language: str | None = None,
        status: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> ItemsPage:
        query = select(Item, Category.name).join(Category, Category.id == Item.category_id)
        if before is not None:
            query = query.where(Item.id < before)
        if category_id is not None:
            query = query.where(Item.category_id == category_id)
        if language:
            query = query.where(Item.language == language)
        if status == PUBLISHED:
            query = query.where(Item.deleted_at.is_(None))
        elif status == DELETED:
            query = query.where(Item.deleted_at.is_not(None))
        query = query.order_by(Item.id.desc()).limit(limit + 1)
        async with self._sessions() as session:
            found = [_row(item, name) for item, name in (await session.execute(query)).all()]
        older = found[limit - 1].id if len(found) > limit else None
        return ItemsPage(tuple(found[:limit]), older)

    async def rows(self, ids: list[int]) -> list[ItemRow]:
        """Items by id, in the order given (search results), deleted ones included."""
        if not ids:
            return []
        async with self._sessions() as session:
            found = {
                item.id: _row(item, name)
                for item, name in (
                    await session.execute(
                        select(Item, Category.name)
                        .join(Category, Category.id == Item.category_id)
                        .where(Item.id.in_(ids))
                    )
                ).all()
            }
        return [found[i] for i in ids if i in found]

    async def detail(self, item_id: int) -> ItemDetail | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Item, Category)
                    .join(Category, Category.id == Item.category_id)
                    .where(Item.id == item_id)
                )
            ).first()
            if found is None:
                return None
            item, category = found
            requests = list(
                await session.scalars(
                    select(CorrectionRequest)
                    .where(CorrectionRequest.item_id == item_id)
                    .order_by(CorrectionRequest.id.desc())
                    .limit(20)
                )
            )
            by_request: dict[int | None, dict[str, int]] = {}
            for request_id, status, count in await session.execute(
                select(Correction.request_id, Correction.status, func.count())
                .where(Correction.item_id == item_id)
                .group_by(Correction.request_id, Correction.status)
            ):
                by_request.setdefault(request_id, {})[status] = count
            versions = [
                _row(v, category.name)
                for v in await session.scalars(
                    select(Item).where(Item.story_id == item.story).order_by(Item.id)
                )
                if v.id != item.id
            ]
            if item.story_id is not None:
                original = await session.get(Item, item.story_id)
                if original is not None:
                    versions.insert(0, _row(original, category.name))
        corrections = []
        for request in requests:
            counts = by_request.get(request.id, {})
            corrections.append(
                CorrectionProgress(
                    action=request.action,
                    created_at=request.created_at,
                    total=request.total,
                    done=counts.get("sent", 0) + counts.get("done", 0),
                    failed=counts.get("failed", 0),
                    pending=counts.get("pending", 0),
                )
            )
        return ItemDetail(
            item=item_view(item, category.name, category.names),
            deleted=item.deleted_at is not None,
            revision=item.revision,
            corrections=tuple(corrections),
            versions=tuple(versions),
        )
