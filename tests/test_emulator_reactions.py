"""The emulator's reactions, read through python-telegram-bot: a person's old and new
reactions in a private chat or group, a channel's anonymous totals, and only for a bot that
asked for them in `allowed_updates` (as Telegram does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot, ReactionTypeEmoji, Update

from emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"
USER = 42
CHANNEL = -100_999_000_001


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.register_chat(USER, "private", first_name="Ada")
        emulator.register_chat(CHANNEL, "channel", "Co-op news")
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


@pytest.mark.asyncio
async def test_reactions_reach_only_a_bot_that_asked(bot: Bot, emu: BotApiEmulator) -> None:
    sent = await bot.send_message(USER, "news")
    emu.react(USER, sent.message_id, ["👍"], user_id=USER)
    assert await bot.get_updates(timeout=0) == ()  # not asked for: never delivered
    emu.react(USER, sent.message_id, ["❤", "🔥"], user_id=USER)
    # (the offset passes the first one, which a bot that had not asked never sees)
    updates = await bot.get_updates(
        offset=emu.last_update_id, timeout=0, allowed_updates=Update.ALL_TYPES
    )
    assert len(updates) == 1
    change = updates[0].message_reaction
    assert change is not None and change.user is not None and change.user.id == USER
    assert (change.chat.id, change.message_id) == (USER, sent.message_id)
    assert change.old_reaction == (ReactionTypeEmoji("👍"),)
    assert change.new_reaction == (ReactionTypeEmoji("❤"), ReactionTypeEmoji("🔥"))


@pytest.mark.asyncio
async def test_a_channel_gets_totals(bot: Bot, emu: BotApiEmulator) -> None:
    posted = await bot.send_message(CHANNEL, "news")
    await bot.get_updates(timeout=0, allowed_updates=Update.ALL_TYPES)
    emu.react(CHANNEL, posted.message_id, ["👍"], user_id=7)
    emu.react(CHANNEL, posted.message_id, ["👍"], user_id=8)
    emu.react(CHANNEL, posted.message_id, [], user_id=7)
    emu.react_count(CHANNEL, posted.message_id, {"🔥": 4, "👍": 0})
    updates = await bot.get_updates(timeout=0)
    totals = []
    for update in updates:
        counts = update.message_reaction_count
        assert counts is not None and update.message_reaction is None
        totals.append({r.type.emoji: r.total_count for r in counts.reactions})  # type: ignore[union-attr]
    assert totals == [{"👍": 1}, {"👍": 2}, {"👍": 1}, {"🔥": 4}]


@pytest.mark.asyncio
async def test_only_the_bots_messages_take_reactions(emu: BotApiEmulator) -> None:
    with pytest.raises(LookupError):
        emu.react(USER, 999, ["👍"], user_id=USER)
