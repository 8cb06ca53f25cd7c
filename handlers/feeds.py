"""/feeds for admins, and what admins are told when a feed breaks or recovers (the feeds
job in `handlers.jobs` polls them)."""

from __future__ import annotations

import html
import logging

from telegram import Bot, Update
from telegram.constants import MessageLimit
from telegram.error import TelegramError

from bot import i18n, texts
from bot.context import BotContext, Services
from bot.feeds.fetcher import FeedError
from bot.i18n import _, current
from bot.services.feeds import (
    DEFAULT_CATEGORY,
    AddProblem,
    FeedEvent,
    FeedEventKind,
    FeedNotAdded,
    FeedService,
    FeedView,
    PollReport,
    split_category_language,
)
from bot.services.validation import CATEGORY_NAME_MAX
from handlers.updates import message_of

log = logging.getLogger(__name__)


def _minutes(feeds: FeedService) -> int:
    return max(1, round(feeds.interval.total_seconds() / 60))


def error_reason(feeds: FeedService, code: str, detail: str) -> str:
    return _(
        texts.FEED_ERRORS[code],
        detail=html.escape(detail),
        max_mb=round(feeds.limits.max_bytes / (1024 * 1024), 1),
        seconds=f"{feeds.limits.timeout_seconds:g}",
    )


def _feed_error_reason(feeds: FeedService, error: FeedError) -> str:
    return error_reason(feeds, error.code.value, error.detail)


def _stored_error_reason(feeds: FeedService, feed: FeedView) -> str:
    code = feed.error_code
    return error_reason(feeds, code.value, feed.error_detail) if code else ""


def _line(feeds: FeedService, feed: FeedView) -> str:
    if feed.error is not None:
        status = _(texts.FEEDS_BROKEN, reason=_stored_error_reason(feeds, feed))
    elif feed.last_ok_at is None:
        status = _(texts.FEEDS_NEVER_READ)
    else:
        status = ""
    if feed.language:
        language = current().language_name(feed.language)
    else:
        language = _(texts.FEEDS_LANGUAGE_FROM_FEED, language=current().language_name("en"))
    return _(
        texts.FEEDS_LINE,
        id=feed.id,
        title=html.escape(feed.name),
        url=html.escape(feed.url),
        category=html.escape(feed.category) if feed.category else _(texts.FEEDS_OWN_CATEGORY),
        language=html.escape(language),
        status=status,
    )


def feeds_list_text(feeds: FeedService, views: list[FeedView]) -> str:
    if not views:
        return _(texts.FEEDS_NONE)
    text = _(texts.FEEDS_HEADER, minutes=_minutes(feeds))
    limit = MessageLimit.MAX_TEXT_LENGTH - 200  # room for the footer and "…and N more"
    for shown, feed in enumerate(views):
        line = "\n\n" + _line(feeds, feed)
        if len(text) + len(line) > limit:
            text += "\n\n" + _(texts.FEEDS_MORE, n=len(views) - shown)
            break
        text += line
    return text + "\n\n" + _(texts.FEEDS_FOOTER)


async def feeds_command(update: Update, context: BotContext) -> None:
    message = message_of(update)
    args = (message.text or "").split()[1:]
    action = args[0].casefold() if args else ""
    if not args:
        await _list(update, context)
    elif action == "add" and len(args) >= 2:
        await _add(update, context, args[1], " ".join(args[2:]))
    elif action in {"remove", "delete", "rm"}:
        await _remove(update, context, args[1:])
    else:
        await message.reply_text(_(texts.FEEDS_USAGE, default=DEFAULT_CATEGORY))


async def _list(update: Update, context: BotContext) -> None:
    feeds = context.services.feeds
    await message_of(update).reply_text(feeds_list_text(feeds, await feeds.feeds()))


async def _add(update: Update, context: BotContext, url: str, words: str) -> None:
    """`/feeds add URL [category] [lang]`: see `split_category_language` for the words."""
    feeds = context.services.feeds
    user = update.effective_user
    try:
        category, language = split_category_language(words)
        added = await feeds.add(
            url, category, language=language, added_by=user.id if user else None
        )
    except FeedNotAdded as failure:
        if failure.error is not None:
            reason = _feed_error_reason(feeds, failure.error)
        else:
            problem = failure.problem or AddProblem.BAD_URL
            existing = failure.existing
            reason = _(
                texts.FEEDS_ADD_PROBLEMS[problem.value],
                id=existing.id if existing else "?",
                max=CATEGORY_NAME_MAX,
                code=html.escape(failure.code),
            )
        await message_of(update).reply_text(_(texts.FEEDS_ADD_FAILED, reason=reason))
        return
    minutes = _minutes(feeds)
    text = _(
        texts.FEEDS_ADDED,
        title=html.escape(added.feed.name),
        id=added.feed.id,
        entries=current().plural(texts.FEED_ENTRIES, added.entry_count),
    )
    if added.imported:
        more = _(texts.FEEDS_ADDED_IMPORTED, imported=added.imported, minutes=minutes)
    else:
        more = _(texts.FEEDS_ADDED_NOTHING, minutes=minutes)
    await message_of(update).reply_text(text + "\n" + more)


async def _remove(update: Update, context: BotContext, args: list[str]) -> None:
    message = message_of(update)
    number = args[0].lstrip("#") if len(args) == 1 else ""
    if not number.isdecimal():
        await message.reply_text(_(texts.FEEDS_REMOVE_USAGE))
        return
    feed_id = int(number)
    removed = await context.services.feeds.remove(feed_id) if feed_id < 2**31 else None
    if removed is None:
        await message.reply_text(_(texts.FEEDS_UNKNOWN, id=feed_id))
        return
    await message.reply_text(_(texts.FEEDS_REMOVED, id=removed.id, title=html.escape(removed.name)))


async def feeds_refused(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.FEEDS_NOT_ALLOWED))


def event_text(feeds: FeedService, event: FeedEvent) -> str:
    feed = event.feed
    title = html.escape(feed.name)
    if event.kind is FeedEventKind.RECOVERED:
        return _(texts.FEED_RECOVERED_ALERT, id=feed.id, title=title)
    reason = _stored_error_reason(feeds, feed)
    return _(texts.FEED_BROKEN_ALERT, id=feed.id, title=title, reason=reason)


async def notify_admins(bot: Bot, services: Services, report: PollReport) -> None:
    # owners and the admins they added: whoever may fix a feed hears that it broke
    admin_ids = services.settings.admin_ids | await services.admin_roster.added_ids()
    languages = await services.chats.languages_of(admin_ids)
    for event in report.events:
        for admin_id, language in languages.items():
            with i18n.speaking(language):
                text = event_text(services.feeds, event)
            try:
                await bot.send_message(admin_id, text)
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.info("could not tell admin %s about feed %s: %s", admin_id, event.feed.id, exc)
