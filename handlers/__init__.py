"""Telegram handlers. `register` is the one place that decides their order and scope."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from bot.context import Services
from handlers import (
    admins,
    browse,
    categories,
    common,
    corrections,
    digests,
    edit_flow,
    feeds,
    flows,
    inline,
    keyword_filters,
    languages,
    membership,
    newsroom,
    privacy,
    publishing,
    quiet,
    reactions,
    review,
    search,
    stats,
    subscriptions,
    suggestions,
    translations,
)

# Only new messages run commands: an edited "/add …" must not publish a second item.
NEW = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def register(application: Application, services: Services) -> None:
    # group -1 runs before every other group and never stops them: each chat is known
    # (for deliveries) whatever the update turns out to be
    application.add_handler(TypeHandler(Update, common.remember_chat), group=-1)
    owners = filters.User(user_id=services.admin_roster.owners, allow_empty=False)

    application.add_handlers(
        [
            CommandHandler("start", common.start, filters=NEW),
            CommandHandler("help", common.show_help, filters=NEW),
            CommandHandler("latest", browse.latest, filters=NEW),
            CommandHandler("category", browse.category, filters=NEW),
            CommandHandler("search", search.search, filters=NEW),
            # the guided /add and /edit: before the one-line /add and before the catch-alls,
            # since it takes an admin's plain text while a flow waits for an answer
            flows.conversation(services),
            # admins first; the same command from anyone else falls through to a refusal
            CommandHandler("add", publishing.add, filters=NEW & services.admins),
            # an author's line is not published: it becomes a preview with Submit for review
            CommandHandler("add", publishing.add_for_review, filters=NEW & services.authors),
            # a reader (neither editor nor author) is told how to suggest it instead
            CommandHandler("add", suggestions.item_hint, filters=NEW),
            # the same with a picture: a photo captioned "/add Category | Title | …" (command
            # handlers read only a message's text, so this is a caption filter). The flows
            # above take an admin's other photos (the picture step, else a hint) and leave
            # these alone, so a captioned photo publishes even mid-flow, like a text /add;
            # before the catch-alls, which would give a non-admin the chat hint, not a refusal
            MessageHandler(
                NEW & filters.PHOTO & flows.ADD_CAPTION & services.admins, publishing.add_photo
            ),
            MessageHandler(
                NEW & filters.PHOTO & flows.ADD_CAPTION & services.authors,
                publishing.add_photo_for_review,
            ),
            MessageHandler(NEW & filters.PHOTO & flows.ADD_CAPTION, suggestions.item_hint),
            # the review queue: editors decide on what waits, authors follow their drafts; the
            # buttons check the role themselves (a button press carries no message filter)
            CommandHandler(
                "queue", review.queue, filters=NEW & (services.admins | services.authors)
            ),
            CommandHandler("queue", admins.refused, filters=NEW),
            CallbackQueryHandler(review.on_button, pattern=r"^v1:rv:"),
            CallbackQueryHandler(review.on_more, pattern=r"^v1:rvq:"),
            # the editors' commands (`services.admins`: owners and editors): each first for
            # them, then for authors a refusal that names the editors, then for anyone else
            # the admins' refusal. The one-line /translate works in any chat (the guided one
            # is in the flows above)
            CommandHandler("translate", translations.translate, filters=NEW & services.admins),
            CommandHandler("translate", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("translate", admins.refused, filters=NEW),
            CommandHandler("edit", edit_flow.private_only, filters=NEW & services.admins),
            CommandHandler("edit", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("edit", admins.refused, filters=NEW),
            CommandHandler("delete", corrections.delete, filters=NEW & services.admins),
            CommandHandler("delete", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("delete", admins.refused, filters=NEW),
            CommandHandler("stats", stats.stats, filters=NEW & services.admins),
            CommandHandler("stats", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("stats", admins.refused, filters=NEW),
            # the web newsroom: sign-in links are for those who publish (owners and editors)
            CommandHandler("web", newsroom.web, filters=NEW & services.admins),
            CommandHandler("web", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("web", admins.refused, filters=NEW),
            CommandHandler("logout", newsroom.logout, filters=NEW & services.admins),
            CommandHandler("logout", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("logout", admins.refused, filters=NEW),
            # the categories' names in each language: owners and editors name them
            CommandHandler("categories", categories.categories, filters=NEW & services.admins),
            CommandHandler("categories", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("categories", admins.refused, filters=NEW),
            # its buttons check the editor themselves (a button press carries no message filter)
            CallbackQueryHandler(categories.on_button, pattern=r"^v1:catn:"),
            # authors too leave the /add they are in
            CommandHandler(
                "cancel", flows.cancel, filters=NEW & (services.admins | services.authors)
            ),
            CommandHandler("cancel", admins.refused, filters=NEW),
            # owners manage people and roles; editors may only list them
            CommandHandler("admins", admins.manage, filters=NEW & owners),
            CommandHandler("admins", admins.show, filters=NEW & services.admins),
            CommandHandler("admins", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("admins", admins.refused, filters=NEW),
            CallbackQueryHandler(corrections.on_delete_button, pattern=r"^v1:del:"),
            # members' links: editors may also block or unblock a member with /suggest, and
            # anyone else's /suggest is a suggestion (a private chat's; a group gets a pointer
            # there). block=False: reading the link's page takes up to 5 s, and other updates
            # must not wait for it
            CommandHandler(
                "suggest", suggestions.manage, filters=NEW & services.admins, block=False
            ),
            CommandHandler("suggest", suggestions.suggest, filters=NEW, block=False),
            CommandHandler("suggestions", suggestions.waiting, filters=NEW & services.admins),
            CommandHandler("suggestions", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("suggestions", admins.refused, filters=NEW),
            # Draft / Dismiss: the handler checks the editor (a press carries no message)
            CallbackQueryHandler(suggestions.on_button, pattern=r"^v1:sug:"),
            # /feeds: editors first, authors and anyone else get a refusal. block=False:
            # adding a feed fetches it (up to its timeout), and other updates must not wait
            CommandHandler(
                "feeds", feeds.feeds_command, filters=NEW & services.admins, block=False
            ),
            CommandHandler("feeds", admins.editors_only, filters=NEW & services.authors),
            CommandHandler("feeds", feeds.feeds_refused, filters=NEW),
            # anyone may ask; in groups the handlers let only the group's administrators
            # change anything (that takes a getChatMember call, not a filter)
            CommandHandler("subscribe", subscriptions.subscribe, filters=NEW),
            CommandHandler("unsubscribe", subscriptions.unsubscribe, filters=NEW),
            CommandHandler("subscriptions", subscriptions.subscriptions, filters=NEW),
            CallbackQueryHandler(subscriptions.on_button, pattern=r"^v1:sub:"),
            # the chat's languages: the same rule as subscriptions (groups: admins only)
            CommandHandler("language", languages.language, filters=NEW),
            CallbackQueryHandler(languages.on_button, pattern=r"^v1:lang:"),
            # digests and the chat's time zone: the same rule (groups: admins only)
            CommandHandler("digest", digests.digest, filters=NEW),
            CallbackQueryHandler(digests.on_digest_button, pattern=r"^v1:dg:"),
            CommandHandler("timezone", digests.timezone, filters=NEW),
            CallbackQueryHandler(digests.on_zone_button, pattern=r"^v1:tz:"),
            # quiet hours: anyone may look; in groups only administrators change them
            CommandHandler("quiet", quiet.quiet, filters=NEW),
            # keyword filters: in groups only administrators change them
            CommandHandler("filter", keyword_filters.filter_command, filters=NEW),
            CallbackQueryHandler(keyword_filters.on_button, pattern=r"^v1:flt:"),
            # what the bot keeps about a chat: anyone may ask; erasing it (/forget and its
            # confirm button) takes the same rule as the settings above (groups: admins only)
            CommandHandler("privacy", privacy.privacy, filters=NEW),
            CommandHandler("forget", privacy.forget, filters=NEW),
            CallbackQueryHandler(privacy.on_button, pattern=r"^v1:fgt:"),
            # blocked / kicked / re-added, and groups becoming supergroups: before any send fails
            ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, membership.on_migrate),
            # reactions to what the bot sent, counted per item: no other handler takes these
            # updates, and neither catch-all below sees them (they are not messages)
            MessageReactionHandler(reactions.on_reaction),
            CallbackQueryHandler(browse.on_button, pattern=r"^v1:(more|cat):"),
            # `@CoopNewsBot …` typed in any chat: no other handler takes inline queries, so
            # the place is free; the update has no chat, so group -1 records none and the
            # handler reads its language from the user's private chat or app
            InlineQueryHandler(inline.on_inline_query),
            CallbackQueryHandler(search.on_more, pattern=r"^v1:srch:"),
            # any other button (forged, or from an older release) has expired
            CallbackQueryHandler(browse.on_button),
        ]
    )

    # Catch-alls come last, so they only see what no command above took. In groups only
    # commands addressed to this bot get a hint: the others may be for another bot.
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            MessageHandler(NEW & filters.COMMAND & private, common.unknown_command),
            MessageHandler(NEW & filters.COMMAND & common.ADDRESSED_TO_ME, common.unknown_command),
            # a reader's message written like an item ("Category | Title | https://…", a
            # photo's caption too): how to suggest it, rather than the chat hint below
            MessageHandler(
                NEW
                & private
                & ~filters.COMMAND
                & ~filters.VIA_BOT
                & suggestions.LOOKS_LIKE_ITEM
                & ~services.admins
                & ~services.authors,
                suggestions.item_hint,
            ),
            # a message a user posted via this bot (an inline result) is theirs, not a question
            MessageHandler(NEW & private & ~filters.COMMAND & ~filters.VIA_BOT, common.plain_text),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, common.edited_message),
        ]
    )
    application.add_error_handler(common.on_error)
