"""Admins end to end: owners (ADMIN_IDS) add and remove admins by id, each an editor or an
author, and change their role; everyone else who tries an admin command gets one polite
refusal (an author: one that names the editors) and nothing changes; every action is
audited."""

from __future__ import annotations

import pytest
from alembic import command as alembic
from sqlalchemy import text

from bot import i18n, texts
from bot.context import Services
from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import _alembic_config
from bot.db.models import Admin
from bot.lifecycle import prepare_database
from bot.services.admins import AdminService, Role, Roster
from testbed.harness import ADMIN_ID, GROUP_ID, Harness, bot_harness
from testbed.harness import test_settings as settings_for

HELPER_ID = 5005


def _services(harness: Harness) -> Services:
    return harness.application.bot_data["services"]


async def _items(harness: Harness) -> int:
    return await _services(harness).news.count_items()


# every admin command, and what someone who may not use it hears
ADMIN_COMMANDS = [
    # a reader's /add is told how to suggest it instead
    ("/add", texts.SUGGEST_HOW),
    ("/add News | Title | https://coop.example/x", texts.SUGGEST_HOW),
    ("/edit", texts.NOT_ADMIN),
    ("/edit 1", texts.NOT_ADMIN),
    ("/delete", texts.NOT_ADMIN),
    ("/delete 1", texts.NOT_ADMIN),
    ("/stats", texts.NOT_ADMIN),
    ("/categories", texts.NOT_ADMIN),
    ("/categories name news fr Nouvelles", texts.NOT_ADMIN),
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
    assert added.html == texts.ADMIN_ADDED.format(user_id=HELPER_ID, role="editor")
    assert (await owner.reply(f"/admins add {HELPER_ID}")).html == texts.ADMIN_ALREADY.format(
        user_id=HELPER_ID, role="editor"
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
    assert f"{ADMIN_ID} — owner" in listed
    assert f"{HELPER_ID} — editor, added by {ADMIN_ID}" in listed

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
    assert [
        (a.actor_id, a.action, a.item_id, a.target_user_id, a.detail) for a in reversed(audit)
    ] == [
        (ADMIN_ID, "admin_add", None, HELPER_ID, "editor"),
        (HELPER_ID, "publish", 1, None, "By the helper"),
        (ADMIN_ID, "admin_remove", None, HELPER_ID, "editor"),
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
    assert emu.messages(GROUP_ID)[-1].html == texts.ADMIN_ADDED.format(
        user_id=HELPER_ID, role="editor"
    )
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


# -- roles: owners give each person added a role; authors are refused the editors' commands ---

AUTHOR_ID = 5006


def _menu(harness: Harness, user_id: int) -> list[str]:
    return [c["command"] for c in harness.emu.my_commands({"type": "chat", "chat_id": user_id})]


async def test_owner_adds_an_author_changes_roles_and_each_change_is_audited(
    harness: Harness,
) -> None:
    owner = harness.admin()
    roster = _services(harness).admin_roster
    added = await owner.reply(f"/admins add {AUTHOR_ID} author")
    assert added.html == texts.ADMIN_ADDED.format(user_id=AUTHOR_ID, role="author")
    assert (await owner.reply(f"/admins add {HELPER_ID} EDITOR")).html == texts.ADMIN_ADDED.format(
        user_id=HELPER_ID, role="editor"
    )
    listed = (await owner.reply("/admins")).text
    assert f"{AUTHOR_ID} — author, added by {ADMIN_ID}" in listed
    assert f"{HELPER_ID} — editor, added by {ADMIN_ID}" in listed
    assert await roster.role_of(AUTHOR_ID) is Role.AUTHOR
    # the author's menu: the readers' commands and what authors prepare items with
    author_menu = _menu(harness, AUTHOR_ID)
    assert {"add", "queue", "cancel", "help", "latest"} <= set(author_menu)
    assert not {"stats", "delete", "edit", "feeds", "admins"} & set(author_menu)
    assert {"add", "queue", "stats", "delete", "admins"} <= set(_menu(harness, HELPER_ID))
    author = harness.private(AUTHOR_ID)
    assert (await author.reply("/stats")).html == texts.NOT_EDITOR

    # bad input: a clear answer, and nothing changes
    before = await roster.list()
    usage = texts.ADMINS_USAGE
    for command, answer in [
        ("/admins add 7007 boss", texts.ADMINS_BAD_ROLE.format(text="boss") + "\n\n" + usage),
        ("/admins add 7007 editor now", usage),
        (
            f"/admins role {AUTHOR_ID} owner",
            texts.ADMINS_BAD_ROLE.format(text="owner") + "\n\n" + usage,
        ),
        (f"/admins role {AUTHOR_ID}", usage),
        (
            "/admins role @author editor",
            texts.ADMINS_BAD_ID.format(text="@author") + "\n\n" + usage,
        ),
        ("/admins role 7007 editor", texts.ADMIN_NOT_FOUND.format(user_id=7007)),
        (f"/admins role {ADMIN_ID} author", texts.ADMIN_OWNER_FIXED.format(user_id=ADMIN_ID)),
        (
            f"/admins role {AUTHOR_ID} author",
            texts.ADMIN_SAME_ROLE.format(user_id=AUTHOR_ID, role="author"),
        ),
        (
            f"/admins add {AUTHOR_ID} editor",
            texts.ADMIN_ALREADY.format(user_id=AUTHOR_ID, role="author"),
        ),
        (f"/admins remove {AUTHOR_ID} author", usage),
    ]:
        assert (await owner.reply(command)).html == answer, command
    assert await roster.list() == before
    # an editor may list, never change
    assert (await harness.private(HELPER_ID).reply(f"/admins role {AUTHOR_ID} editor")).html == (
        texts.NOT_OWNER
    )

    # promoted: the editors' commands work at once, and the menu lists them
    promoted = await owner.reply(f"/admins role {AUTHOR_ID} editor")
    assert promoted.html == texts.ADMIN_ROLE_CHANGED.format(user_id=AUTHOR_ID, role="editor")
    assert (await author.reply("/stats")).html.startswith(texts.STATS_HEADER)
    assert {"stats", "queue"} <= set(_menu(harness, AUTHOR_ID))
    # demoted: refused again at once
    await owner.send(f"/admins role {AUTHOR_ID} author")
    assert (await author.reply("/stats")).html == texts.NOT_EDITOR
    assert "stats" not in _menu(harness, AUTHOR_ID)
    assert (await owner.reply(f"/admins remove {AUTHOR_ID}")).html == texts.ADMIN_REMOVED.format(
        user_id=AUTHOR_ID
    )
    assert (await author.reply("/stats")).html == texts.NOT_ADMIN
    assert _services(harness).authors.user_ids == frozenset()

    audit = await _services(harness).audit.recent()
    assert [(a.actor_id, a.action, a.target_user_id, a.detail) for a in reversed(audit)] == [
        (ADMIN_ID, "admin_add", AUTHOR_ID, "author"),
        (ADMIN_ID, "admin_add", HELPER_ID, "editor"),
        (ADMIN_ID, "admin_role", AUTHOR_ID, "author -> editor"),
        (ADMIN_ID, "admin_role", AUTHOR_ID, "editor -> author"),
        (ADMIN_ID, "admin_remove", AUTHOR_ID, "author"),
    ]


async def test_an_owner_adds_an_author_by_replying_to_their_message(harness: Harness) -> None:
    emu = harness.emu
    said = emu.send_message(
        "hello", chat_id=GROUP_ID, user_id=AUTHOR_ID, chat_type="supergroup", chat_title="Hub"
    )
    emu.send_message(
        "/admins add author",
        chat_id=GROUP_ID,
        user_id=ADMIN_ID,
        chat_type="supergroup",
        reply_to_message_id=said["message_id"],
    )
    await harness.settle()
    assert emu.messages(GROUP_ID)[-1].html == texts.ADMIN_ADDED.format(
        user_id=AUTHOR_ID, role="author"
    )
    assert await _services(harness).admin_roster.role_of(AUTHOR_ID) is Role.AUTHOR


# what an author hears when trying each editor's command
EDITOR_COMMANDS = [
    ("/edit", texts.NOT_EDITOR),
    ("/edit 1", texts.NOT_EDITOR),
    ("/delete", texts.NOT_EDITOR),
    ("/delete 1", texts.NOT_EDITOR),
    ("/translate 1 fr", texts.NOT_EDITOR),
    ("/stats", texts.NOT_EDITOR),
    ("/categories", texts.NOT_EDITOR),
    ("/feeds", texts.NOT_EDITOR),
    ("/feeds add https://coop.example/feed.xml", texts.NOT_EDITOR),
    ("/admins", texts.NOT_EDITOR),
    (f"/admins add {HELPER_ID}", texts.NOT_EDITOR),
    ("/suggestions", texts.NOT_EDITOR),
    # authors leave an /add they are in like editors do
    ("/cancel", texts.CANCEL_NOTHING),
]


async def test_an_author_is_refused_the_editors_commands_with_the_role_named(
    harness: Harness,
) -> None:
    owner = harness.admin()
    await owner.send("/add News | Kept | https://coop.example/kept")
    await owner.send(f"/admins add {AUTHOR_ID} author")
    item_id = (await _services(harness).news.page(1)).items[0].id
    author = harness.private(AUTHOR_ID)
    for command, refusal in EDITOR_COMMANDS:
        reply = await author.reply(command.replace(" 1", f" {item_id}"))
        assert reply.html == refusal, command
    assert await _items(harness) == 1
    assert (await _services(harness).news.get_item(item_id)) is not None
    # /help: the readers' commands, then the authors' and what the roles are
    help_text = (await author.reply("/help")).html
    assert texts.HELP_AUTHOR_HEADER.strip() in help_text and texts.HELP_ROLES in help_text
    assert "/queue" in help_text and "/add" in help_text and "/stats" not in help_text
    editor_help = (await owner.reply("/help")).html
    assert texts.HELP_ADMIN_HEADER.strip() in editor_help and texts.HELP_ROLES in editor_help
    assert "/stats" in editor_help and "/queue" in editor_help
    # in the author's language
    await author.send("/language fr")
    french = i18n.translator("fr")
    assert (await author.reply("/delete")).html == french(texts.NOT_EDITOR)
    assert "Désolé, cette commande est réservée aux éditeurs" in french(texts.NOT_EDITOR)
    assert {"add", "queue", "cancel"} <= set(_menu(harness, AUTHOR_ID))
    assert "stats" not in _menu(harness, AUTHOR_ID)
    # a reader still hears today's refusal
    assert (await harness.private(4242).reply("/delete")).html == texts.NOT_ADMIN


async def test_people_added_keep_their_role_after_a_restart(database_url: str) -> None:
    async with bot_harness(database_url) as first:
        await first.admin().send(f"/admins add {AUTHOR_ID} author")
        await first.admin().send(f"/admins add {HELPER_ID}")
    async with bot_harness(database_url) as second:
        services = _services(second)
        assert AUTHOR_ID in services.authors.user_ids and HELPER_ID in services.admins.user_ids
        assert (await second.private(AUTHOR_ID).reply("/stats")).html == texts.NOT_EDITOR
        assert {"add", "queue"} <= set(_menu(second, AUTHOR_ID))  # the start-up menus
        assert "stats" not in _menu(second, AUTHOR_ID)
        assert "stats" in _menu(second, HELPER_ID)


@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_admins_from_before_the_roles_become_editors(database_url: str) -> None:
    """An admin stored at revision 0014 (no roles yet) is an editor after the upgrade."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: alembic.upgrade(_alembic_config(sync), "0014"))
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO admins (user_id, added_by, created_at) "
                    "VALUES (:user_id, :added_by, CURRENT_TIMESTAMP)"
                ),
                {"user_id": HELPER_ID, "added_by": ADMIN_ID},
            )
        await prepare_database(settings_for(database_url, "http://127.0.0.1:9/bot"))
        sessions = create_session_factory(engine)
        roster = AdminService(sessions, frozenset({ADMIN_ID}))
        assert await roster.role_of(HELPER_ID) is Role.EDITOR
        assert await roster.refresh() == Roster(frozenset({ADMIN_ID, HELPER_ID}), frozenset())
        # and a row added without a role is an editor's too
        async with sessions.begin() as session:
            session.add(Admin(user_id=AUTHOR_ID, added_by=ADMIN_ID))
        assert await roster.role_of(AUTHOR_ID) is Role.EDITOR
    finally:
        await engine.dispose()
