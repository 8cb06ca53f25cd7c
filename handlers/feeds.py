"""/feeds for admins, and what admins are told when a feed breaks or recovers (the feeds
job in `bot.jobs` polls them)."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.constants import MessageLimit

from bot import texts
from bot.context import BotContext
from bot.feeds.fetcher import FeedError
from bot.i18n import _, current
from bot.notices import feed_error_reason, stored_feed_error
from bot.services.feeds import (
    DEFAULT_CATEGORY,
    AddProblem,
    FeedNotAdded,
    FeedService,
    FeedView,
    split_category_language,
)
from bot.services.validation import CATEGORY_NAME_MAX
from handlers.updates import message_of, user_of

log = logging.getLogger(__name__)


def _minutes(feeds: FeedService) -> int:
    return max(1, round(feeds.interval.total_seconds() / 60))


def _feed_error_reason(feeds: FeedService, error: FeedError) -> str:
    return feed_error_reason(feeds, error.code.value, error.detail)


def _line(feeds: FeedService, feed: FeedView) -> str:
    if feed.error is not None:
        status = _(texts.FEEDS_BROKEN, reason=stored_feed_error(feeds, feed))
    elif feed.last_ok_at is None:
        status = _(texts.FEEDS_NEVER_READ)
    else:
        status = ""
    if feed.review:
        status += _(texts.FEEDS_UNDER_REVIEW)
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
    elif action == "review":
        await _review(update, context, args[1:])
    else:
        await message.reply_text(_(texts.FEEDS_USAGE, default=DEFAULT_CATEGORY))


async def _list(update: Update, context: BotContext) -> None:
    feeds = context.services.feeds
    await message_of(update).reply_text(feeds_list_text(feeds, await feeds.feeds()))


REVIEW_WORD = "review"  # the last word of /feeds add: hold the entries for review


async def _add(update: Update, context: BotContext, url: str, words: str) -> None:
    """`/feeds add URL [category] [lang] [review]`: see `split_category_language` for the
    category and language; a last word `review` holds the entries in the review queue."""
    feeds = context.services.feeds
    user = update.effective_user
    parts = words.split()
    review = bool(parts) and parts[-1].casefold() == REVIEW_WORD
    if review:
        words = " ".join(parts[:-1])
    try:
        category, language = split_category_language(words)
        added = await feeds.add(
            url, category, language=language, added_by=user.id if user else None, review=review
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
    if review:
        more = _(texts.FEEDS_ADDED_REVIEW, held=added.held, minutes=minutes)
    elif added.imported:
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


_SWITCH = {"on": True, "off": False}


async def _review(update: Update, context: BotContext, args: list[str]) -> None:
    """`/feeds review N on|off`: hold feed N's new entries for review, or not."""
    message = message_of(update)
    number = args[0].lstrip("#") if len(args) == 2 else ""
    switch = _SWITCH.get(args[1].casefold()) if len(args) == 2 else None
    if not number.isdecimal() or switch is None:
        await message.reply_text(_(texts.FEEDS_REVIEW_USAGE))
        return
    feed_id = int(number)
    changed = None
    if feed_id < 2**31:
        changed = await context.services.feeds.set_review(
            feed_id, switch, actor_id=user_of(update).id
        )
    if changed is None:
        await message.reply_text(_(texts.FEEDS_UNKNOWN, id=feed_id))
        return
    done = texts.FEEDS_REVIEW_ON if switch else texts.FEEDS_REVIEW_OFF
    await message.reply_text(_(done, id=changed.id, title=html.escape(changed.name)))


async def feeds_refused(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(_(texts.FEEDS_NOT_ALLOWED))
