"""The composition root: builds the services, the sender and the PTB Application, and wires
the events between them (`bot.lifecycle` starts and stops what is built here)."""

from __future__ import annotations

import html
import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults, filters
from telegram.request import HTTPXRequest

import handlers
from bot import i18n, texts
from bot.config import ConfigError, Settings
from bot.context import BotContext, Runtime, Services, install_services
from bot.db.engine import create_engine, create_session_factory, is_sqlite
from bot.delivery import (
    AiohttpRequest,
    BroadcastBot,
    DeliveryEngine,
    DeliveryStore,
    ItemMessage,
    SharedRateLimiter,
    leadership_for,
)
from bot.delivery.shared_budget import budget_for
from bot.delivery.store import TopicGone
from bot.desk_text import DeskWords
from bot.digest_text import digest_pages
from bot.metrics import MeteredApplication, MeteredRequest, Metrics
from bot.render import item_message
from bot.services.admins import AdminService, Roster
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
from bot.services.reach import ReachService, link_key
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
from bot.services.views import ItemView
from bot.services.web_sessions import WebSessionService
from bot.web import note_store_failure

if TYPE_CHECKING:
    from bot.newsroom import Newsroom

log = logging.getLogger(__name__)


def build_application(settings: Settings) -> Application:
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set")
    token = settings.bot_token.get_secret_value()
    i18n.load_all()  # a broken catalogue stops the bot here, not at a French user's message
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    metrics = Metrics()
    news = NewsService(sessions, cache_seconds=settings.listing_cache_seconds)
    chats = ChatService(sessions)
    keyword_filters = FilterService(sessions)
    digests = DigestService(sessions, settings.tz, filters=keyword_filters)
    corrections = CorrectionsService(sessions, news)
    # one sending budget per token: replies (PTB's rate limiter) and broadcasts share it,
    # and so do all the token's processes (in Redis or PostgreSQL; SQLite has only one)
    options = settings.delivery
    budget = budget_for(
        options, engine, bot_id=token.partition(":")[0], redis_url=settings.redis_url
    )
    store = DeliveryStore(sessions, timezone=settings.timezone)
    reach = ReachService(sessions, key=link_key(token), web_url=settings.web_url)
    # CLICK_TRACKING: what the sender pushes links to {WEB_URL}/r/<code>, which counts the
    # open and redirects; what a reader asks for (/latest, a deep link) keeps the item's own
    tracked = settings.click_tracking and settings.web_url is not None

    def linked(item: ItemView) -> ItemView:
        if not tracked or not item.url:
            return item
        return replace(item, url=reach.tracked_url(item.id))

    async def render(item_id: int, language: str) -> ItemMessage | None:
        item = await news.get_item(item_id)
        if item is None:
            return None
        return item_message(linked(item), settings.tz, i18n.translator(language))

    async def compose_digest(chat_id: int, since: datetime, until: datetime) -> list[str]:
        content = await digests.content(chat_id, since, until)
        if tracked:
            groups = tuple((name, tuple(map(linked, items))) for name, items in content.groups)
            content = replace(content, groups=groups)
        return digest_pages(content, i18n.translator(content.language))

    def topic_notice(gone: TopicGone) -> str:
        tr = i18n.translator(gone.language)
        topic = gone.name or tr(texts.TOPIC_UNNAMED, id=gone.thread_id)
        return tr(texts.TOPIC_GONE_NOTICE, topic=html.escape(topic))

    delivery = DeliveryEngine(
        store=store,
        render=render,
        compose=compose_digest,
        # its own Bot on a faster transport; only the sender uses it
        bot=BroadcastBot(
            token,
            base_url=settings.telegram_api_url,
            request=MeteredRequest(
                AiohttpRequest(
                    connection_pool_size=options.concurrency, read_timeout=options.send_timeout
                ),
                metrics,
            ),
        ),
        budget=budget,
        leadership=leadership_for(engine),
        options=options,
        poll_seconds=settings.delivery_poll_seconds,
        # items published by another process (CLI, replica) show in listings at once
        after_fanout=news.invalidate,
        on_outcome=metrics.delivery_outcome,
        # a forum topic that stopped taking pushes: the group's admins are told in General
        topic_notice=topic_notice,
    )
    # the services tell the sender what happened; they never call it themselves
    news.on_published(lambda _item: delivery.wake())  # start within a moment, not a poll
    corrections.on_corrected(delivery.corrected)
    digests.on_due(delivery.digests_due)
    # the desk's services queue notices in their transactions and say so after the commit
    notices = NoticeQueue()
    notices.on_committed(delivery.notices_queued)
    metrics.watch_leadership(lambda: delivery.is_leader)
    metrics.watch_backlog(store.deliveries.backlog)
    # the owners (ADMIN_IDS) now; the editors and authors added by owners join at start-up,
    # and the roster sets both again whenever it changes, here or in another process
    admins = filters.User(user_id=settings.admin_ids, allow_empty=False)
    authors = filters.User(allow_empty=False)  # empty: lets no one through
    scheduling = SchedulingService(sessions, news)

    def set_filters(roster: Roster) -> None:
        admins.user_ids = roster.editors
        authors.user_ids = roster.authors

    admin_roster = AdminService(sessions, settings.admin_ids, on_roster=set_filters)
    review = ReviewService(
        sessions,
        news,
        scheduling,
        admin_roster,
        chats,
        DeskWords(settings.tz, settings.timezone),
        cache_seconds=settings.listing_cache_seconds,
    )
    review.on_queued(notices.committed)  # the desk's notices go out at once, not at a poll
    feeds = FeedService(
        sessions, news, interval_seconds=settings.feed_interval_seconds, on_poll=metrics.feed_poll
    )
    feeds.hold_for_review(review.hold_entry, review.held)  # feeds under review
    services = Services(
        settings=settings,
        news=news,
        categories=CategoryService(sessions, news),
        chats=chats,
        admins=admins,
        authors=authors,
        feeds=feeds,
        # blocked, kicked, migrated, back: the sender's one owner of a chat's life
        subscriptions=SubscriptionService(sessions, delivery.chats),
        delivery=delivery,
        admin_roster=admin_roster,
        suggestions=SuggestionService(sessions, admin_roster, notices=notices),
        notices=notices,
        audit=AuditService(sessions),
        drafts=DraftService(sessions),
        scheduling=scheduling,
        review=review,
        corrections=corrections,
        stats=StatsService(sessions, settings.tz),
        reports=ReportService(sessions),
        search=SearchService(sessions, engine.dialect.name),
        stories=StoryService(sessions),
        retention=RetentionService(
            sessions,
            keep_days=settings.delivery_keep_days,
            audit_keep_days=settings.audit_keep_days,
        ),
        quiet=QuietHoursService(sessions, settings.timezone),
        filters=keyword_filters,
        digests=digests,
        privacy=PrivacyService(sessions, chats=chats, chat_life=delivery.chats),
        reach=reach,
        web_sessions=WebSessionService(sessions, admin_roster),
        runtime=Runtime(
            database=engine,
            metrics=metrics,
            updates=UpdateService(engine, sessions),
            # other processes' changes clear this one's caches (SQLite runs one process)
            cache_listener=None
            if is_sqlite(engine)
            else CacheListener(
                engine,
                news,
                chats,
                forgotten=delivery.chats.forgotten,
                roster=admin_roster,
                queue=review,
            ),
        ),
    )
    application = (
        Application.builder()
        .application_class(MeteredApplication, kwargs={"metrics": metrics})
        .token(token)
        .base_url(settings.telegram_api_url)
        # PTB's own transports (the defaults it would build), counted for /metrics
        .request(MeteredRequest(HTTPXRequest(connection_pool_size=256), metrics))
        .get_updates_request(MeteredRequest(HTTPXRequest(connection_pool_size=1), metrics))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.tz,
            )
        )
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(SharedRateLimiter(budget))
        .build()
    )
    if settings.web_url is not None:
        services.runtime.newsroom = build_newsroom(services, sessions, token)
    install_services(application, services)
    handlers.register(application, services)
    # after the handlers' own: a webhook update whose handler lost the database gets a 503
    application.add_error_handler(note_store_failure)
    return application


def build_newsroom(
    services: Services, sessions: async_sessionmaker[AsyncSession], token: str
) -> Newsroom:
    """The web newsroom's routes (imported here: without WEB_URL, Jinja2 is never loaded)."""
    from bot.newsroom import Newsroom
    from bot.newsroom.api import Api
    from bot.newsroom.pages import Pages
    from bot.reach_routes import redirect_routes
    from bot.services.newsroom import NewsroomService

    listing = NewsroomService(sessions)
    return Newsroom(
        services.settings,
        token=token,
        web_sessions=services.web_sessions,
        chats=services.chats,
        parts=(Pages(services, listing, services.reach), Api(listing, services.reach)),
        open_routes=redirect_routes(services.reach),
    )
