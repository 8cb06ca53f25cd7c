"""The web newsroom: pages and a JSON API for admins, served by the bot's own aiohttp server
(`bot.web.WebServer`), in a browser or inside Telegram as a Mini App. `app.py` holds signing
in and what every request passes through; `pages.py` the pages; `api.py` the JSON."""

from bot.newsroom.app import Newsroom

__all__ = ["Newsroom"]
