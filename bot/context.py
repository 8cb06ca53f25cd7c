"""What handlers receive: the services, built once at start-up by `bot.app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot, filters

from bot.config import Settings
from bot.delivery import DeliveryEngine
from bot.metrics import Metrics
from bot.services.admins import AdminService
from bot.services.audit import AuditService
from bot.services.categories import CategoryService
from bot.services.chats import ChatService
from bot.services.corrections import CorrectionsService
from bot.services.digests import DigestService
from bot.services.drafts import DraftService
from bot.services.feeds import FeedService
from bot.services.filters import FilterService
from bot.services.invalidation import CacheListener
from bot.services.news import NewsService
from bot.services.notices import NoticeQueue
from bot.services.privacy import PrivacyService
from bot.services.quiet import QuietHoursService
from bot.services.reach import ReachService
from bot.services.reports import ReportService
from bot.services.retention import RetentionService
from bot.services.review import ReviewService
from bot.services.scheduling import SchedulingService
from bot.services.search import SearchService
from bot.services.stats import StatsService
from bot.services.stories import StoryService
from bot.services.subscriptions import SubscriptionService
from bot.services.suggestions import SuggestionService
from bot.services.updates import UpdateService
from bot.services.web_sessions import WebSessionService
from bot.web import WebServer

if TYPE_CHECKING:  # imported only when WEB_URL is set (templates and Jinja2 cost memory)
    from bot.newsroom import Newsroom


@dataclass
class Runtime:
    """What the lifecycle (`bot.lifecycle`) starts and stops beside the services."""

    database: AsyncEngine
    metrics: Metrics
    # webhook updates seen, so each is handled once across replicas
    updates: UpdateService
    # other processes' changes clear this one's caches (PostgreSQL; None on SQLite)
    cache_listener: CacheListener | None
    # the webhook's server (webhook mode), then the one of METRICS_LISTEN, if any
    web_servers: list[WebServer] = field(default_factory=list)
    # the web newsroom's routes (WEB_URL set), served by one of `web_servers`
    newsroom: Newsroom | None = None


@dataclass
class Services:
    settings: Settings
    news: NewsService
    # the categories' names in each language (/categories); reading them is `news`'s
    categories: CategoryService
    chats: ChatService
    # the owners and editors: the users allowed to run admin commands; a PTB filter so
    # that registration, not an `if` in each handler, decides who gets there (ids can be
    # added at run time)
    admins: filters.User
    # the authors: they may /add, but what they add waits in the review queue (`review`)
    authors: filters.User
    feeds: FeedService
    subscriptions: SubscriptionService
    # the sender of pushes, corrections, digests and notices (`bot.lifecycle.running_bot`
    # starts it)
    delivery: DeliveryEngine
    # told by the desk's services after a commit that queued notices (the sender listens)
    notices: NoticeQueue
    # `admin_roster` stores the editors and authors that `admins` and `authors` filter on,
    # and keeps both filters in step when owners change them (here or in another process)
    admin_roster: AdminService
    audit: AuditService
    # members' links (/suggest) and the editors' Draft / Dismiss
    suggestions: SuggestionService
    drafts: DraftService
    scheduling: SchedulingService
    # the review queue: authors' drafts and feeds' held entries, until an editor decides
    review: ReviewService
    corrections: CorrectionsService
    stats: StatsService
    reports: ReportService
    search: SearchService
    # a story's versions in several languages, and which one a reader gets
    stories: StoryService
    # old finished rows removed, their figures kept (and a chat's, for /forget)
    retention: RetentionService
    quiet: QuietHoursService
    filters: FilterService
    # the chats' digest choices and rows (the engine sends them)
    digests: DigestService
    # what the bot keeps about a chat (/privacy), and erasing it (/forget)
    privacy: PrivacyService
    # what the items came to (roll-ups), tracked links and reactions
    reach: ReachService
    # sign-in links and sessions of the web newsroom (/web)
    web_sessions: WebSessionService
    runtime: Runtime


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext with typed access to the services."""

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]


def install_services(application: Application, services: Services) -> None:
    application.bot_data["services"] = services
