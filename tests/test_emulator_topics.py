"""The emulator's forum supergroups and topics, driven through python-telegram-bot itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.error import BadRequest

from emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"
FORUM = -1001234567890
ADA = 42


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="CoopNewsBot") as emulator:
        emulator.make_forum(FORUM, "Federation")
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


async def test_a_user_opens_a_topic_and_writes_in_it(bot: Bot, emu: BotApiEmulator) -> None:
    thread = emu.create_topic(FORUM, "Housing", user_id=ADA)
    emu.send_message("/subscribe", chat_id=FORUM, user_id=ADA, message_thread_id=thread)
    updates = await bot.get_updates(timeout=0)
    created, command = (u.message for u in updates)
    assert created.forum_topic_created.name == "Housing"
    assert created.message_thread_id == thread == created.message_id
    assert created.chat.is_forum
    assert command.is_topic_message and command.message_thread_id == thread
    # a message in a topic replies to the topic's first message: where its name is
    assert command.reply_to_message.forum_topic_created.name == "Housing"

    sent = await bot.send_message(FORUM, "in the topic", message_thread_id=thread)
    assert sent.message_thread_id == thread and sent.is_topic_message
    assert emu.messages(FORUM)[-1].message_thread_id == thread
    general = await bot.send_message(FORUM, "in General")
    assert general.message_thread_id is None and not general.is_topic_message


async def test_closed_deleted_and_unknown_topics_refuse_messages(
    bot: Bot, emu: BotApiEmulator
) -> None:
    thread = emu.create_topic(FORUM, "Work", user_id=ADA)
    emu.close_topic(FORUM, thread, user_id=ADA)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_message(FORUM, "x", message_thread_id=thread)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_photo(FORUM, "AgACAgQAAxk-unknown", message_thread_id=thread)
    emu.reopen_topic(FORUM, thread, user_id=ADA)
    await bot.send_message(FORUM, "open again", message_thread_id=thread)

    emu.delete_topic(FORUM, thread)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(FORUM, "x", message_thread_id=thread)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(FORUM, "x", message_thread_id=999)
    assert emu.messages(FORUM) == []  # the topic's messages went with it
    service = ("forum_topic_created", "forum_topic_closed", "forum_topic_reopened")
    updates = await bot.get_updates(timeout=0)
    kinds = [next(k for k in service if getattr(u.message, k) is not None) for u in updates]
    assert kinds == ["forum_topic_created", "forum_topic_closed", "forum_topic_reopened"]


async def test_the_bot_manages_topics(bot: Bot, emu: BotApiEmulator) -> None:
    topic = await bot.create_forum_topic(FORUM, "Events")
    assert topic.name == "Events"
    thread = topic.message_thread_id
    await bot.send_message(FORUM, "hello", message_thread_id=thread)
    assert await bot.close_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_message(FORUM, "x", message_thread_id=thread)
    assert await bot.reopen_forum_topic(FORUM, thread)
    assert await bot.delete_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.close_forum_topic(FORUM, thread)
    # not a forum: no topics
    emu.register_chat(-100777, "supergroup", "Plain group")
    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await bot.create_forum_topic(-100777, "Nope")
    # a thread id in a chat without topics is not checked (replies' threads)
    await bot.send_message(-100777, "plain", message_thread_id=5)
