"""The tracked links' redirect, `GET /r/{code}`, for whichever aiohttp application serves the
web: 302 to the item's own link (one open counted, see `bot.services.reach`), 404 for any
other code. The target is only ever an item's stored link: no parameter can name another."""

from __future__ import annotations

from aiohttp import web

from bot.services.reach import ReachService

# each open is counted: no browser or proxy may answer a second one from its cache; and the
# newsroom's address is nobody's business at the other end
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def redirect_routes(reach: ReachService) -> list[web.RouteDef]:
    async def redirect(request: web.Request) -> web.Response:
        target = await reach.open_link(
            request.match_info["code"],
            request.headers.get("User-Agent"),
            count=request.method == "GET",  # a HEAD (a checker, a preview) counts no open
        )
        if target is None:
            return web.Response(status=404, text="Not found", headers=_HEADERS)
        return web.Response(status=302, headers={**_HEADERS, "Location": target})

    return [web.get("/r/{code}", redirect)]
