"""/subscribe, /unsubscribe and /subscriptions, end to end through the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import texts
from emulator.models import SentMessage
from testbed.delivery_kit import harness_with_categories, services
from testbed.harness import ADMIN_ID, GROUP_ID, Harness


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with harness_with_categories(database_url) as running:
        yield running


def labels(message: SentMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


async def followed(harness: Harness, chat_id: int) -> tuple[bool, list[str]]:
    following = await services(harness).subscriptions.following(chat_id)
    return following.everything, [c.name for c in following.categories]


async def test_keyboard_marks_and_toggles_in_place(harness: Harness) -> None:
    ada = harness.private()
    menu = await ada.reply("/subscribe")
    assert menu.text.startswith("🔔 Subscriptions")
    assert labels(menu) == ["All categories", "Decent housing", "Decent work", "News", "Done"]

    replies, answers = await ada.press(menu, "News")
    assert replies == []  # edited in place, nothing new sent
    assert answers[-1]["text"] == "Following News"
    menu = harness.emu.bot_message(ada.chat_id, menu.message_id)
    assert labels(menu) == ["All categories", "Decent housing", "Decent work", "✅ News", "Done"]
    assert await followed(harness, ada.chat_id) == (False, ["News"])

    await ada.press(menu, "News")
    menu = harness.emu.bot_message(ada.chat_id, menu.message_id)
    assert "✅ News" not in labels(menu)
    assert await followed(harness, ada.chat_id) == (False, [])

    await ada.press(menu, "All categories")
    menu = harness.emu.bot_message(ada.chat_id, menu.message_id)
    assert labels(menu)[:4] == [
        "✅ All categories",
        "✅ Decent housing",
        "✅ Decent work",
        "✅ News",
    ]
    assert await followed(harness, ada.chat_id) == (True, [])

    # leaving one category while following everything keeps all the others
    await ada.press(menu, "Decent work")
    assert await followed(harness, ada.chat_id) == (False, ["Decent housing", "News"])
    _, answers = await ada.press(menu, "Done")
    assert harness.emu.bot_message(ada.chat_id, menu.message_id).buttons == []
    assert menu.edit_count >= 4


async def test_text_forms(harness: Harness) -> None:
    ada = harness.private()
    assert (await ada.reply("/subscribe news")).text == (
        "🔔 Subscribed: new items in News will arrive here."
    )
    assert (await ada.reply("/subscribe NEWS")).text == "This chat already follows News."
    assert (await ada.reply("/subscribe decent w")).text.startswith("🔔 Subscribed")
    listing = await ada.reply("/subscriptions")
    assert listing.text.startswith("🔔 This chat follows:\n• Decent work\n• News\n")
    assert (await ada.reply("/unsubscribe news")).text == "🔕 Unsubscribed from News."
    assert (await ada.reply("/unsubscribe news")).text.startswith("This chat does not follow News.")
    assert (await ada.reply("/subscribe all")).text.startswith("🔔 Subscribed to all categories")
    assert (await ada.reply("/subscribe ALL")).text == "This chat already follows all categories."
    assert (await ada.reply("/subscriptions")).text.startswith(
        "🔔 This chat follows all categories."
    )
    assert (await ada.reply("/unsubscribe all")).text.startswith("🔕 Unsubscribed from everything")
    assert (await ada.reply("/subscriptions")).text.startswith(
        texts.SUBSCRIPTIONS_NONE + "\n\n📰 News in: all languages (/language to change)"
    )
    assert (await ada.reply("/unsubscribe")).text == texts.NOT_SUBSCRIBED_ANY
    assert await followed(harness, ada.chat_id) == (False, [])


async def test_bad_names_and_forged_buttons(harness: Harness) -> None:
    ada = harness.private()
    unknown = await ada.reply("/subscribe gardening")
    assert unknown.text == "I don't know a category called “gardening”. Tap one below:"
    assert "News" in labels(unknown)
    ambiguous = await ada.reply("/subscribe decent")
    assert ambiguous.text.startswith("“decent” matches more than one category")
    assert labels(ambiguous) == ["All categories", "Decent housing", "Decent work", "Done"]
    markup = await ada.reply("/subscribe <b>x</b>")
    assert "“<b>x</b>”" in markup.text  # shown as typed, not as markup
    huge = await ada.reply("/subscribe " + "x" * 5000)
    assert huge.text == "That name is too long for a category (at most 64 characters)."
    empty = await ada.reply("/subscribe    ")
    assert empty.text.startswith("🔔 Subscriptions")

    for forged in (
        "v1:sub:999999",
        "v1:sub:abc",
        "v1:sub:0",
        "v2:sub:1",
        "v1:sub:1:2:3",
        "v1:sub:",
    ):
        replies, answers = await ada.press(empty, data=forged)
        assert replies == []
        assert answers[-1]["text"] == texts.BUTTON_EXPIRED, forged
    # a chat id in the data is only for bot admins managing a channel
    _, answers = await ada.press(empty, data=f"v1:sub:a:{GROUP_ID}")
    assert answers[-1]["text"] == texts.BUTTON_EXPIRED
    assert await followed(harness, ada.chat_id) == (False, [])
    assert await followed(harness, GROUP_ID) == (False, [])


async def test_only_group_admins_change_group_subscriptions(harness: Harness) -> None:
    emu = harness.emu
    member, admin = harness.group_with_admin()

    assert (await member.reply("/subscribe news")).text == texts.SUBSCRIBE_ADMINS_ONLY
    assert (await member.reply("/unsubscribe all")).text == texts.SUBSCRIBE_ADMINS_ONLY
    assert await followed(harness, GROUP_ID) == (False, [])

    assert (await admin.reply("/subscribe news")).text.startswith("🔔 Subscribed")
    menu = await admin.reply("/subscribe")
    # a member tapping the admin's keyboard is refused, and nothing changes
    _, answers = await member.press(menu, "All categories")
    assert answers[-1]["text"] == texts.SUBSCRIBE_ADMINS_ONLY_ALERT
    assert answers[-1]["show_alert"] is True
    assert await followed(harness, GROUP_ID) == (False, ["News"])
    await admin.press(menu, "All categories")
    assert await followed(harness, GROUP_ID) == (True, [])
    # anyone may look
    assert (await member.reply("/subscriptions")).text.startswith("🔔 This chat follows all")
    # the group's creator counts as an administrator
    emu.set_member_status(GROUP_ID, 4001, "creator")
    assert (await member.reply("/unsubscribe all")).text.startswith("🔕 Unsubscribed")


async def test_channels(harness: Harness) -> None:
    emu = harness.emu
    channel = -100_777_000_001
    emu.send_channel_post("/subscribe all", chat_id=channel, chat_title="Co-op Channel")
    await harness.settle()
    assert emu.messages(channel)[-1].text.startswith("🔔 Subscribed to all categories")
    assert await followed(harness, channel) == (True, [])

    # a bot admin names another channel from a private chat
    other = -100_777_000_002
    emu.register_chat(other, "channel", "Second Channel", username="secondcoop")
    admin = harness.admin()
    reply = await admin.reply(f"/subscribe {other} news")
    assert reply.text == (
        "Channel Second Channel: 🔔 Subscribed: new items in News will arrive here."
    )
    reply = await admin.reply("/unsubscribe @secondcoop news")
    assert reply.text == "Channel Second Channel: 🔕 Unsubscribed from News."
    menu = await admin.reply(f"/subscribe {other}")
    await admin.press(menu, "Decent work")
    assert await followed(harness, other) == (False, ["Decent work"])
    # … and nobody else may
    reader = harness.private()
    assert (await reader.reply(f"/subscribe {other} news")).text == (
        texts.SUBSCRIBE_CHANNEL_NOT_ALLOWED
    )
    assert (await admin.reply("/subscribe -100999 news")).text.startswith("I cannot reach")
    assert await followed(harness, -100999) == (False, [])
    # the admin's own chat was only the place the commands came from
    assert await followed(harness, ADMIN_ID) == (False, [])
