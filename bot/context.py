"""What handlers receive: the services, built once at start-up by `bot.app`."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot, filters

from bot.config import Settings
from bot.services.chats import ChatService
from bot.services.news import NewsService


@dataclass
class Services:
    settings: Settings
    news: NewsService
    chats: ChatService
    # the users allowed to run admin commands; a PTB filter so that registration, not an
    # `if` in each handler, decides who gets there (ids can be added at run time)
    admins: filters.User


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext with typed access to the services."""

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]


def install_services(application: Application, services: Services) -> None:
    application.bot_data["services"] = services
