"""Admins end to end: owners (ADMIN_IDS) add and remove admins by id; everyone else who tries
an admin command gets one polite refusal and nothing changes; every action is audited."""

from __future__ import annotations

from bot import texts
from bot.context import Services
from testbed.harness import ADMIN_ID, GROUP_ID, Harness, bot_harness

HELPER_ID = 5005


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


async def _items(harness: Harness) -> int:
    return await _services(harness).news.count_items()


# every admin command, and what someone who may not use it hears
ADMIN_COMMANDS = [
    ("/add", texts.ADD_NOT_ALLOWED),
    ("/add News | Title | https://coop.example/x", texts.ADD_NOT_ALLOWED),
    ("/edit", texts.NOT_ADMIN),
    ("/edit 1", texts.NOT_ADMIN),
    ("/delete", texts.NOT_ADMIN),
    ("/delete 1", texts.NOT_ADMIN),
    ("/stats", texts.NOT_ADMIN),
    ("/cancel", texts.NOT_ADMIN),
    ("/admins", texts.NOT_ADMIN),
    (f"/admins add {HELPER_ID + 1}", texts.NOT_ADMIN),
    (f"/admins remove {HELPER_ID}", texts.NOT_ADMIN),
]


async def _assert_refused_everything(harness: Harness, user_id: int) -> None:
    chat = harness.private(user_id)
    item_id = (await _services(harness).news.page(1)).items[0].id
    admins_before = await _services(harness).admin_roster.list()
    for command, refusal in ADMIN_COMMANDS:
        reply = await chat.reply(command.replace(" 1", f" {item_id}"))
        assert reply.html == refusal, command
    # plain text is not taken for an answer to a flow either
    assert (await chat.reply("A title")).html == texts.PLAIN_TEXT_HINT
    # a forged delete confirmation does nothing
    _, answers = await chat.press((await chat.send("/latest"))[0], data=f"v1:del:yes:{item_id}")
    assert [a["text"] for a in answers] == [texts.NOT_ADMIN]
    assert await _items(harness) == 1
    assert (await _services(harness).news.get_item(item_id)) is not None
    assert await _services(harness).admin_roster.list() == admins_before


async def test_a_reader_is_refused_every_admin_command(harness: Harness) -> None:
    await harness.admin().send("/add News | Kept | https://coop.example/kept")
    await _assert_refused_everything(harness, 4242)


async def test_owner_adds_lists_and_removes_an_admin_who_is_then_refused(
    harness: Harness,
) -> None:
    owner = harness.admin()
    listing = await owner.reply("/admins")
    assert (
        listing.html
        == "\n".join([texts.ADMINS_HEADER, texts.ADMINS_OWNER_LINE.format(user_id=ADMIN_ID)])
        + "\n\n"
        + texts.ADMINS_USAGE
    )

    added = await owner.reply(f"/admins add {HELPER_ID}")
    assert added.html == texts.ADMIN_ADDED.format(user_id=HELPER_ID)
    assert (await owner.reply(f"/admins add {HELPER_ID}")).html == texts.ADMIN_ALREADY.format(
        user_id=HELPER_ID
    )
    assert (await owner.reply(f"/admins add {ADMIN_ID}")).html == texts.ADMIN_IS_OWNER.format(
        user_id=ADMIN_ID
    )
    assert (await owner.reply("/admins add @helper")).html == texts.ADMINS_BAD_ID.format(
        text="@helper"
    ) + "\n\n" + texts.ADMINS_USAGE
    assert (await owner.reply("/admins add")).html == texts.ADMINS_USAGE
    assert (await owner.reply("/admins promote 7")).html == texts.ADMINS_USAGE
    listed = (await owner.reply("/admins")).text
    assert f"{ADMIN_ID} — owner" in listed and f"{HELPER_ID} — added by {ADMIN_ID}" in listed

    # the new admin publishes, sees the list, but cannot manage admins
    helper = harness.private(HELPER_ID)
    published = await helper.send("/add News | By the helper | https://coop.example/helper")
    assert published[0].html == texts.ADD_DONE_NEW_CATEGORY.format(id=1, category="News")
    assert (await helper.reply("/admins")).text == listed
    assert (await helper.reply("/admins add 6006")).html == texts.NOT_OWNER
    assert (await helper.reply(f"/admins remove {ADMIN_ID}")).html == texts.NOT_OWNER
    assert [a.user_id for a in await _services(harness).admin_roster.list()] == [
        ADMIN_ID,
        HELPER_ID,
    ]

    assert (await owner.reply(f"/admins remove {ADMIN_ID}")).html == (
        texts.ADMIN_OWNER_FIXED.format(user_id=ADMIN_ID)
    )
    removed = await owner.reply(f"/admins remove {HELPER_ID}")
    assert removed.html == texts.ADMIN_REMOVED.format(user_id=HELPER_ID)
    assert (await owner.reply(f"/admins remove {HELPER_ID}")).html == (
        texts.ADMIN_NOT_FOUND.format(user_id=HELPER_ID)
    )
    await _assert_refused_everything(harness, HELPER_ID)

    audit = await _services(harness).audit.recent()
    assert [(a.actor_id, a.action, a.item_id, a.target_user_id) for a in reversed(audit)] == [
        (ADMIN_ID, "admin_add", None, HELPER_ID),
        (HELPER_ID, "publish", 1, None),
        (ADMIN_ID, "admin_remove", None, HELPER_ID),
    ]


async def test_owner_adds_an_admin_by_replying_to_their_message(harness: Harness) -> None:
    emu = harness.emu
    said = emu.send_message(
        "hello", chat_id=GROUP_ID, user_id=HELPER_ID, chat_type="supergroup", chat_title="Hub"
    )
    emu.send_message(
        "/admins add",
        chat_id=GROUP_ID,
        user_id=ADMIN_ID,
        chat_type="supergroup",
        reply_to_message_id=said["message_id"],
    )
    await harness.settle()
    assert emu.messages(GROUP_ID)[-1].html == texts.ADMIN_ADDED.format(user_id=HELPER_ID)
    # ... and the new admin's menu now lists the admin commands
    menu = [c["command"] for c in emu.my_commands({"type": "chat", "chat_id": HELPER_ID})]
    assert "add" in menu and "stats" in menu
    # a helper who replies the same way is no owner: refused, nothing changes
    emu.send_message(
        "/admins add",
        chat_id=GROUP_ID,
        user_id=HELPER_ID,
        chat_type="supergroup",
        reply_to_message_id=said["message_id"],
    )
    await harness.settle()
    assert emu.messages(GROUP_ID)[-1].html == texts.NOT_OWNER


async def test_added_admins_are_loaded_again_after_a_restart(database_url: str) -> None:
    async with bot_harness(database_url) as first:
        await first.admin().send(f"/admins add {HELPER_ID}")
    async with bot_harness(database_url) as second:
        reply = await second.private(HELPER_ID).reply("/stats")
        assert reply.html.startswith(texts.STATS_HEADER)
        await second.admin().send(f"/admins remove {HELPER_ID}")
        assert (await second.private(HELPER_ID).reply("/stats")).html == texts.NOT_ADMIN


async def test_an_admin_removed_in_the_middle_of_a_flow_cannot_finish_it(
    harness: Harness,
) -> None:
    owner = harness.admin()
    await owner.send(f"/admins add {HELPER_ID}")
    helper = harness.private(HELPER_ID)
    await helper.send("/add")
    await helper.send("Half done")
    await helper.send("Events")
    await helper.send("https://coop.example/half")
    [ask_photo] = await helper.send("A summary")
    (_, preview), _answers = await helper.press(ask_photo, texts.BUTTON_SKIP)
    await owner.send(f"/admins remove {HELPER_ID}")
    sent, answers = await helper.press(preview, texts.BUTTON_PUBLISH)
    assert sent == [] and [a["text"] for a in answers] == [texts.NOT_ADMIN]
    assert (await helper.reply("/cancel")).html == texts.NOT_ADMIN
    assert (await helper.reply("More text")).html == texts.PLAIN_TEXT_HINT
    assert await _items(harness) == 0
