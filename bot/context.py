"""What handlers receive: the services, built once at start-up by `bot.app`."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot, filters

from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.delivery.digests import DigestSender
from bot.services.admins import AdminService
from bot.services.audit import AuditService
from bot.services.chats import ChatService
from bot.services.corrections import CorrectionsService
from bot.services.digests import DigestService
from bot.services.drafts import DraftService
from bot.services.feeds import FeedService
from bot.services.filters import FilterService
from bot.services.news import NewsService
from bot.services.quiet import QuietHoursService
from bot.services.reports import ReportService
from bot.services.scheduling import SchedulingService
from bot.services.search import SearchService
from bot.services.stats import StatsService
from bot.services.subscriptions import SubscriptionService


@dataclass
class Services:
    settings: Settings
    news: NewsService
    chats: ChatService
    # the users allowed to run admin commands; a PTB filter so that registration, not an
    # `if` in each handler, decides who gets there (ids can be added at run time)
    admins: filters.User
    feeds: FeedService
    subscriptions: SubscriptionService
    # the push sender; None only where no bot runs (it is started by `bot.app.running_bot`)
    delivery: DeliveryEngine | None
    # `admin_roster` stores the admins that `admins` filters on and
    # keeps that filter in step when owners add or remove one
    admin_roster: AdminService
    audit: AuditService
    drafts: DraftService
    scheduling: SchedulingService
    corrections: CorrectionsService
    stats: StatsService
    reports: ReportService
    search: SearchService
    quiet: QuietHoursService
    filters: FilterService
    # digests: the chats' choices and rows (service) and their sender (beside the engine's)
    digests: DigestService | None = None
    digest_sender: DigestSender | None = None


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext with typed access to the services."""

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]


def install_services(application: Application, services: Services) -> None:
    application.bot_data["services"] = services
