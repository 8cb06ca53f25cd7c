"""The newsroom's JSON: one item's reach, and the daily figures. Same session rules as the
pages (`Newsroom.guard(api=True)`: 401 as JSON without a session)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.services.newsroom import NewsroomService

if TYPE_CHECKING:
    from bot.newsroom.app import Newsroom, Visit
    from bot.services.reach import ReachService

MAX_DAYS = 365


class Api:
    def __init__(self, newsroom: NewsroomService, reach: ReachService) -> None:
        self._newsroom = newsroom
        self._reach = reach

    def install(self, room: Newsroom) -> None:
        router = room.app_router
        router.add_get(r"/api/items/{id:\d{1,18}}", room.guard(self.item, api=True))
        router.add_get("/api/stats/daily", room.guard(self.daily, api=True))

    async def item(self, request: web.Request, _visit: Visit) -> web.Response:
        item_id = int(request.match_info["id"])
        detail = await self._newsroom.detail(item_id)
        if detail is None:
            return web.json_response({"error": "no such item"}, status=404)
        reach = await self._reach.item(item_id)
        return web.json_response(
            {
                "id": item_id,
                "title": detail.item.title,
                "deleted": detail.deleted,
                "sent": reach.sent,
                "pending": reach.pending,
                "failed": reach.failed,
                "blocked": reach.blocked,
                "opens": reach.opens,
                "reactions": reach.reactions,
            }
        )

    async def daily(self, request: web.Request, _visit: Visit) -> web.Response:
        raw = request.query.get("days", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            return web.json_response(
                {"error": f"days must be a whole number 1–{MAX_DAYS}"}, status=400
            )
        days = await self._reach.daily(int(raw))
        return web.json_response(
            [
                {
                    "date": day.date.isoformat(),
                    "subscribers": day.subscribers,
                    "joined": day.joined,
                    "left": day.left,
                    "sent": day.sent,
                    "failed": day.failed,
                    "blocked": day.blocked,
                    "opens": day.opens,
                }
                for day in days
            ]
        )
