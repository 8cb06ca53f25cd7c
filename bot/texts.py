"""Every text a user sees, in one place (ready for translation).

Templates that hold data take it already escaped: `render.py` and the handlers escape with
`html.escape` before formatting. Parse mode is HTML throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, NP_


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str  # shown in Telegram's menu and in /help (at most 256 chars)
    usage: str = ""
    admin_only: bool = False  # for owners and editors ...
    authors: bool = False  # ... and for authors too


# The one list behind /help and the menu button (set_my_commands); order is the menu's order.
COMMANDS: tuple[Command, ...] = (
    Command("latest", N_("Newest co-op news"), N_("[N]")),
    Command("category", N_("Browse news by category"), N_("[name]")),
    Command("search", N_("Find news by words"), N_("words")),
    Command("subscribe", N_("Get new items here as they are published"), N_("[category | all]")),
    Command("unsubscribe", N_("Stop getting new items"), N_("[category | all]")),
    Command("subscriptions", N_("What this chat follows")),
    Command("filter", N_("Only get news with, or without, some words"), N_("[add | remove] words")),
    Command("language", N_("Language of the bot, and of the news you get"), N_("[en | fr | es]")),
    Command("quiet", N_("Quiet hours: pushes arrive without a sound"), N_("[22:00-07:00 | off]")),
    Command("help", N_("What this bot can do")),
    Command("start", N_("Welcome and how to begin")),
    Command(
        "add",
        N_("Publish an item (editors), or prepare one for review (authors)"),
        N_("Category | Title | https://link | summary"),
        admin_only=True,
        authors=True,
    ),
    Command(
        "queue",
        N_("Drafts waiting for review (editors), or your own (authors)"),
        admin_only=True,
        authors=True,
    ),
    Command(
        "translate",
        N_("Add a version in another language (editors)"),
        N_("number language [| Title | https://link]"),
        True,
    ),
    Command("edit", N_("Correct a published item (editors)"), N_("[number]"), True),
    Command("delete", N_("Withdraw a published item (editors)"), N_("[number]"), True),
    Command(
        "feeds",
        N_("RSS/Atom feeds (editors)"),
        N_("[add URL [category] [review] | review N on|off | remove N]"),
        True,
    ),
    Command("stats", N_("Subscribers, items and deliveries (editors)"), "", True),
    Command("web", N_("Sign in to the web newsroom (editors)"), "", True),
    Command("logout", N_("Sign out of the web newsroom everywhere (editors)"), "", True),
    Command(
        "categories",
        N_("Name categories in each language (editors)"),
        N_("[name category en|fr|es name]"),
        True,
    ),
    Command(
        "admins",
        N_("Admins and their roles; owners add, change or remove them"),
        N_("[add|role|remove user_id [editor|author]]"),
        True,
    ),
    Command("cancel", N_("Leave the /add or /edit you are in"), "", admin_only=True, authors=True),
)

BOT_DESCRIPTION = N_(
    "News from the cooperative movement: ILO, ICA, COPAC and co-op federations. "
    "Browse the latest items, or by category."
)
BOT_SHORT_DESCRIPTION = N_("News from the cooperative movement.")

WELCOME = N_(
    "👋 <b>Welcome to Co-op News Bot, {name}!</b>\n\n"
    "I bring you news from the cooperative movement: the ILO, the International Co-operative "
    "Alliance, COPAC and co-op federations.\n\n"
    "• /latest — the newest items\n"
    "• /category — browse by topic\n"
    "• /language — English, Français, Español\n"
    "• /help — every command\n\n"
    "The menu button (☰) beside the text field lists them too."
)
WELCOME_GROUP = N_(
    "👋 <b>Co-op News Bot</b> is here. Members can use /latest and /category in this group; "
    "/help lists everything."
)

HELP_HEADER = N_("<b>Co-op News Bot</b> — news from the cooperative movement.\n")
HELP_LINE = N_("/{name} {usage}— {description}")
HELP_ADMIN_HEADER = N_("\n<b>For editors</b>")
HELP_AUTHOR_HEADER = N_("\n<b>For authors</b>")
HELP_ROLES = N_(
    "👥 Roles: owners (ADMIN_IDS) manage people with /admins; editors publish, edit, delete, "
    "review and manage feeds; authors prepare items and submit them for review."
)
HELP_FOOTER = N_(
    "\nExamples: <code>/latest 10</code>, <code>/category decent work</code>.\n"
    "In groups, commands also work as <code>/latest@{bot_username}</code>."
)

# /latest and /category
LATEST_HEADER = N_("📰 <b>Latest co-op news</b>")
LATEST_MORE_HEADER = N_("📰 <b>Older co-op news</b>")
CATEGORY_HEADER = N_("🗂 <b>{name}</b> · {count}")
CATEGORY_MORE_HEADER = N_("🗂 <b>{name}</b> · older items")
NO_ITEMS = N_("There is no news yet. Admins can publish with /add.")
NO_ITEMS_IN_LANGUAGES = N_(
    "There is no news yet in the languages this chat reads. /language changes them."
)
NO_ITEMS_IN_CATEGORY = N_("There are no items in <b>{name}</b> yet.")
NO_MORE_ITEMS = N_("That was the oldest item — there is nothing older.")
ITEMS = NP_("{n} item", "{n} items")
MORE_BUTTON = N_("More ›")
LATEST_BAD_NUMBER = N_(
    "Please give a number of items from 1 to {max}, e.g. <code>/latest 10</code>. "
    "Without a number you get the newest {default}."
)
LATEST_CLAMPED = N_("ℹ️ I show at most {max} items at a time; here are the newest {max}.")

CATEGORY_CHOOSE = N_("🗂 <b>Choose a category</b> (number of items in brackets):")
CATEGORY_NONE = N_("There are no categories yet. They appear when the first item is published.")
CATEGORY_UNKNOWN = N_("I don't know a category called “{name}”. These are the categories:")
CATEGORY_AMBIGUOUS = N_("“{name}” matches more than one category. Which one do you mean?")
CATEGORY_NAME_TOO_LONG = N_("That name is too long for a category (at most {max} characters).")
CATEGORY_BUTTON = N_("{name} ({count})")

# item cards
ITEM_META = N_("{date} · {category}")
ITEM_NUMBER = N_(" · #{id}")

# callback buttons
BUTTON_EXPIRED = N_("This button has expired. Send the command again for fresh results.")

# /add
ADD_USAGE = N_(
    "To publish an item, send one line:\n"
    "<code>/add Category | Title | https://link | optional summary</code>\n\n"
    "Example:\n<code>/add News | ICA elects new board | https://ica.coop/en/news | "
    "Delegates met in Seville.</code>\n\n"
    "The item is taken to be in your interface language ({language}). For another one, put "
    "its two-letter code first: <code>/add [es] Noticias | …</code>"
)
ADD_DONE = N_("✅ Published as <b>#{id}</b>. This is how readers see it:")
ADD_DONE_NEW_CATEGORY = N_(
    "✅ Published as <b>#{id}</b> in the new category <b>{category}</b>. "
    "This is how readers see it:"
)
# followed by ADD_USAGE
ADD_PROBLEM = N_("⚠️ Nothing was published: {problem}")
PROBLEMS = {
    "bad_language": N_(
        "“{code}” is not a language code. Use two letters, such as en, fr, es or pt."
    ),
    "missing_parts": (
        N_("I need at least a category, a title and a link, separated by <code>|</code>.")
    ),
    "empty_category": N_("the category is empty."),
    "category_too_long": N_("the category name is {length} characters long; the limit is {max}."),
    "empty_title": N_("the title is empty."),
    "title_too_long": N_("the title is {length} characters long; the limit is {max}."),
    "summary_too_long": N_("the summary is {length} characters long; the limit is {max}."),
    "bad_url": N_("the link must be a full web address starting with http:// or https://."),
    "url_too_long": N_("the link is {length} characters long; the limit is {max}."),
}
ADD_DUPLICATE = N_("⚠️ Nothing was published: that link is already stored as <b>#{id}</b>:")

# fallbacks and errors
UNKNOWN_COMMAND = N_("I don't know that command. Send /help to see what I can do.")
PLAIN_TEXT_HINT = N_(
    "I'm a news bot, so I don't chat — but try /latest for the newest items, "
    "/category to browse, or /help for everything."
)
EDITED_MESSAGE_HINT = N_("I only read new messages. Please send the command again.")
INTERNAL_ERROR = N_("😕 Sorry, something went wrong on my side. Please try again in a moment.")
STORE_UNAVAILABLE = N_("😕 The news store is unavailable right now. Please try again in a minute.")

# sandbox (terminal)
SANDBOX_BANNER = N_(
    "Co-op News Bot sandbox — an offline Telegram chat with the real bot.\n"
    "You are {first_name} (user id {user_id}, an admin). Type a message or a command;\n"
    "press an inline button by typing its number in brackets, e.g. [1]. /quit leaves.\n"
)
SANDBOX_BYE = N_("Bye!")
SANDBOX_WEB = N_(
    "The newsroom is at {url}\nOpen this link in your browser to sign in as the sandbox's "
    "admin (once, within 10 minutes; /web gives a new one):\n{link}"
)
SANDBOX_NO_BUTTON = N_("(there is no button [{number}])")
SANDBOX_BUTTON_GONE = N_("(button [{number}] is no longer on its message)")
SANDBOX_BUTTONS_CHANGED = N_("bot ✎: (changed the buttons of an earlier message)")


# --- Publishing: admins, guided /add, scheduling, /stats, corrections ---------------------------

# refusals: one polite answer, nothing changes
NOT_ADMIN = N_("Sorry, this command is only for the bot's admins.")
# an author who tries an editor's command
EDITORS_ONLY_ALERT = N_("Only editors can use this button.")
NOT_EDITOR = N_(
    "Sorry, this command is for editors. As an author, you prepare items with /add and an "
    "editor publishes them."
)
NOT_OWNER = N_("Sorry, only the bot's owners can add people, change their roles or remove them.")

# /admins
ADMINS_HEADER = N_("👥 <b>Admins</b>")
ADMINS_OWNER_LINE = N_("• <code>{user_id}</code> — owner")
ADMINS_LINE = N_("• <code>{user_id}</code> — {role}, added by <code>{added_by}</code> on {date}")
# the roles an owner gives, as they read in the texts below
ROLE_EDITOR = N_("editor")
ROLE_AUTHOR = N_("author")
ADMINS_USAGE = N_(
    "Owners manage admins by numeric Telegram user id (usernames are not accepted):\n"
    "<code>/admins add 123456789 author</code> — an editor when no role is given; or reply "
    "to someone's message with <code>/admins add</code>\n"
    "<code>/admins role 123456789 editor</code>\n"
    "<code>/admins remove 123456789</code>\n"
    "Editors publish, edit, delete, review and manage feeds; authors prepare items and submit "
    "them for review."
)
# followed by ADMINS_USAGE
ADMINS_BAD_ID = N_("“{text}” is not a numeric Telegram user id.")
ADMINS_BAD_ROLE = N_("“{text}” is not a role: give <code>editor</code> or <code>author</code>.")
ADMIN_ADDED = N_("✅ <code>{user_id}</code> is now an admin: <b>{role}</b>.")
ADMIN_ALREADY = N_(
    "<code>{user_id}</code> is already an admin (<b>{role}</b>); nothing changed. "
    "<code>/admins role</code> changes a role."
)
ADMIN_ROLE_CHANGED = N_("✅ <code>{user_id}</code>'s role is now <b>{role}</b>.")
ADMIN_SAME_ROLE = N_("<code>{user_id}</code> already has the role <b>{role}</b>; nothing changed.")
ADMIN_IS_OWNER = N_("<code>{user_id}</code> is an owner and always an admin; nothing changed.")
ADMIN_REMOVED = N_("✅ <code>{user_id}</code> is no longer an admin.")
ADMIN_NOT_FOUND = N_("<code>{user_id}</code> is not an admin; nothing changed.")
ADMIN_OWNER_FIXED = N_(
    "<code>{user_id}</code> is an owner. Owners are set with ADMIN_IDS in the bot's settings, "
    "not with /admins; nothing changed."
)

# /categories: each category's name in each language
CATEGORIES_HEADER = N_(
    "🗂 <b>Categories</b> and their names. Readers see a category under its name in their "
    "chat's language, or under its original name where it has none."
)
CATEGORIES_ENTRY = N_("<b>{name}</b> ({count})\n{names}")
CATEGORIES_NAME_LINE = N_("• {language}: {name}")
CATEGORIES_NAME_NONE = N_("• {language}: —")
CATEGORIES_USAGE = N_(
    "To name a category in a language, give the category (by any of its names), the "
    "language (en, fr or es) and the name:\n"
    "<code>/categories name Decent work fr Travail décent</code>\n"
    "When a category's name holds a word like “en” or “es”, separate the three with bars: "
    "<code>/categories name Decent work | es | Trabajo decente</code>"
)
CATEGORIES_NAMED = N_("✅ <b>{category}</b> is now called <b>{name}</b> in {language}.")
CATEGORIES_RENAMED = N_(
    "✅ <b>{category}</b> is now called <b>{name}</b> in {language} (until now “{before}”)."
)
CATEGORIES_NAME_TAKEN = N_(
    "⚠️ Nothing was changed: “{name}” is already a name of <b>{other}</b>, and a name can "
    "belong to one category only."
)
CATEGORIES_BAD_LANGUAGE = N_(
    "⚠️ Nothing was changed: “{code}” is not one of my languages. Categories are named in "
    "{languages}."
)
CATEGORIES_NAME_MISSING = N_(
    "⚠️ Nothing was changed: the name is missing. Put it after the language, for example "
    "<code>/categories name Decent work fr Travail décent</code>."
)
CATEGORIES_UNKNOWN = N_(
    "⚠️ Nothing was changed: I don't know a category called “{name}”. /categories lists them."
)
CATEGORIES_AMBIGUOUS = N_(
    "⚠️ Nothing was changed: “{name}” matches more than one category ({names}). Give more of "
    "its name."
)
# the guided way: a button per category, one per language, then the name typed
CATEGORIES_EDIT_BUTTON = N_("✏️ {name}")
CATEGORIES_ASK_LANGUAGE = N_("✏️ In which language do you want to name <b>{name}</b>?")
CATEGORIES_LANGUAGE_BUTTON = N_("{language} · {name}")
CATEGORIES_ASK_NAME = N_("✏️ Send the name of <b>{category}</b> in {language}, or /cancel.")
CATEGORIES_ASK_NAME_NOW = N_(
    "✏️ Send the name of <b>{category}</b> in {language} (now “{now}”), or /cancel."
)
CATEGORIES_ASK_AGAIN = N_("Send another name, or /cancel.")
CATEGORIES_CANCELLED = N_("✖️ Cancelled. No name was changed.")

# guided /add
ADD_ASK_TITLE = N_(
    "📝 <b>New item</b> — step 1 of 5\nSend the <b>title</b>.\n\n"
    "<i>/cancel stops at any step. For a one-line /add, see /help.</i>"
)
ADD_ASK_CATEGORY = N_("Step 2 of 5: choose the <b>category</b>, or type the name of a new one.")
ADD_ASK_CATEGORY_NONE = N_(
    "Step 2 of 5: type the name of the <b>category</b> (there are none yet)."
)
ADD_ASK_LINK = N_("Step 3 of 5: send the <b>link</b> (https://…), or press Skip.")
ADD_ASK_SUMMARY = N_("Step 4 of 5: send a short <b>summary</b>, or press Skip.")
ADD_ASK_AGAIN = N_("⚠️ Not quite: {problem}\nPlease send it again, or /cancel.")
ADD_LINK_TAKEN = N_(
    "⚠️ That link is already stored as <b>#{id}</b>. Send another link, press Skip, or /cancel."
)
ADD_USE_BUTTONS = N_("Please use the buttons under the preview, or send /cancel.")
ADD_PREVIEW = N_("👀 <b>Preview</b> — this is exactly how subscribers will see it:")
ADD_PREVIEW_LANGUAGE = N_(
    "🌐 Written in <b>{language}</b>: only chats that take news in this language get it."
)
BUTTON_ITEM_LANGUAGE = N_("🌐 Language")
ADD_ASK_LANGUAGE = N_(
    "🌐 Which language is the item written in? Tap one, or send its two-letter code "
    "(e.g. <code>pt</code> for Portuguese)."
)
ADD_EDIT_WHICH = N_("✏️ What do you want to change?")
ADD_ASK_NEW = {
    "title": N_("Send the new <b>title</b>."),
    "category": N_("Choose the new <b>category</b>, or type the name of a new one."),
    "url": N_("Send the new <b>link</b>, or press Skip to have none."),
    "summary": N_("Send the new <b>summary</b>, or press Skip to have none."),
}
FIELD_NAMES = {
    "title": N_("Title"),
    "category": N_("Category"),
    "url": N_("Link"),
    "summary": N_("Summary"),
}
BUTTON_PUBLISH = N_("✅ Publish now")
BUTTON_SCHEDULE = N_("🕒 Schedule")
BUTTON_EDIT = N_("✏️ Edit")
BUTTON_CANCEL = N_("✖️ Cancel")
BUTTON_SKIP = N_("Skip ›")
BUTTON_SAVE = N_("💾 Save")
ADD_PUBLISHED = N_("✅ Published as <b>#{id}</b>.")
ADD_PUBLISHED_NEW_CATEGORY = N_(
    "✅ Published as <b>#{id}</b> in the new category <b>{category}</b>."
)
ADD_CANCELLED = N_("✖️ Cancelled. Nothing was published.")
CANCEL_NOTHING = N_("There is nothing to cancel.")
DRAFT_EXPIRED = N_(
    "⌛ Your unfinished draft was left for more than {hours} hours, so it has expired. "
    "Nothing was published or changed. Send /add or /edit to start again."
)
FLOW_PRIVATE_ONLY = N_("Please send /{command} to me in a private chat.")

# scheduling
ADD_ASK_WHEN = N_(
    "🕒 When should it go out? Send the date and time in the bot's timezone ({tz}) as "
    "<code>YYYY-MM-DD HH:MM</code>, e.g. <code>{example}</code>."
)
WHEN_PROBLEMS = {
    "format": N_("please write the date and time as <code>YYYY-MM-DD HH:MM</code>."),
    "no_such_date": N_("there is no such date or time."),
    "no_such_time": N_("that time does not exist in {tz} (the clocks skip it)."),
    "past": N_("that moment has already passed in {tz} (it is now {now})."),
}
ADD_SCHEDULED = N_(
    "🕒 Scheduled for <b>{when}</b> ({tz}). I will publish it then and tell you here."
)
SCHEDULED_PUBLISHED = N_("✅ Your scheduled item is out: published as <b>#{id}</b>.")
SCHEDULED_FAILED = N_("⚠️ Your scheduled item “{title}” was not published: {problem}")
WHEN_FORMAT_SHOWN = "%Y-%m-%d %H:%M"

# the review queue: authors submit, editors decide (handlers.review, bot.desk_text)
BUTTON_SUBMIT = N_("📨 Submit for review")
BUTTON_SUBMIT_AT = N_("🕒 Submit with a time")
ADD_PREVIEW_REVIEW = N_(
    "👀 <b>Preview</b> — this is how subscribers will see it once an editor approves it:"
)
ADD_SUBMITTED = N_(
    "📨 Submitted for review as draft <b>#{id}</b>. The editors have it, and I will tell you "
    "here what they decide. /queue shows your drafts."
)
ADD_SUBMITTED_AT = N_(
    "📨 Submitted for review as draft <b>#{id}</b>, to go out on <b>{when}</b> ({tz}) if an "
    "editor approves it. I will tell you here what they decide."
)
ADD_REVIEW_CANCELLED = N_("✖️ Cancelled. Nothing was submitted.")
REVIEW_CARD = N_("📝 <b>For review</b> · draft #{id}")
REVIEW_BY_AUTHOR = N_("Submitted by <code>{user_id}</code>")
REVIEW_BY_FEED = N_("A new entry of feed #{feed_id}, held for review")
REVIEW_AGAIN = N_("Changed and submitted again (version {revision})")
REVIEW_WANTED_AT = N_("To go out on {when} ({tz})")
BUTTON_APPROVE = N_("✅ Approve")
BUTTON_REQUEST_CHANGES = N_("✏️ Request changes")
BUTTON_REJECT = N_("✖️ Reject")
BUTTON_EDIT_DRAFT = N_("✏️ Edit #{id}")
BUTTON_QUEUE_MORE = N_("Next drafts ›")
REVIEW_APPROVED = N_("✅ Approved by you: published as <b>#{id}</b>.")
REVIEW_APPROVED_AT = N_("✅ Approved by you: it goes out on <b>{when}</b> ({tz}).")
REVIEW_ASK_CHANGES = N_(
    "✏️ What should the author change in “{title}”? Write them a short note (up to {max} "
    "characters), or /cancel."
)
REVIEW_ASK_REJECT = N_(
    "✖️ Why is “{title}” not going out? Write the author a short note (up to {max} "
    "characters), or /cancel."
)
REVIEW_CHANGES_SENT = N_("✏️ Draft #{id} went back to its author with your note.")
REVIEW_REJECT_SENT = N_("✖️ Draft #{id} is rejected; its author has your note.")
REVIEW_NOTE_TOO_LONG = N_(
    "That note has {length} characters; the most is {max}. Nothing is decided yet."
)
REVIEW_NOTE_EMPTY = N_("Please write a few words for the author.")
REVIEW_NOTE_CANCELLED = N_("Nothing was decided: draft #{id} still waits in /queue.")
REVIEW_APPROVED_BY = N_("Draft #{id} was already approved by {user_id}.")
REVIEW_REJECTED_BY = N_("Draft #{id} was already rejected by {user_id}.")
REVIEW_CHANGES_BY = N_("{user_id} already sent draft #{id} back for changes.")
REVIEW_STALE = N_(
    "Draft #{id} was changed since these buttons were made: /queue shows its latest version."
)
REVIEW_UNKNOWN = N_("That draft no longer exists.")
REVIEW_OWN_DRAFT = N_("You can't decide on your own draft: another editor will.")
REVIEW_LINK_TAKEN = N_("Item #{id} has had this link since, so draft #{draft} stays unpublished.")
REVIEW_EDITORS_ONLY = N_("Only editors decide on drafts.")
REVIEW_NOT_EDITABLE = N_("Draft #{id} is {state} and can't be changed any more.")
REVIEW_NOT_YOURS = N_("Draft #{id} is not yours to change.")
TOLD_APPROVED = N_("✅ Your draft “{title}” was approved and published as <b>#{id}</b>.")
TOLD_APPROVED_AT = N_("✅ Your draft “{title}” was approved. It goes out on <b>{when}</b> ({tz}).")
TOLD_CHANGES = N_(
    "✏️ An editor asks for changes to your draft “{title}”:\n<i>{note}</i>\n\n"
    "/queue lets you edit it and submit it again."
)
TOLD_REJECTED = N_("✖️ Your draft “{title}” was not accepted:\n<i>{note}</i>")
QUEUE_EMPTY = N_("📭 Nothing waits for review.")
QUEUE_HEADER = NP_(
    "📬 <b>{n} draft waits for review</b>, oldest first:",
    "📬 <b>{n} drafts wait for review</b>, oldest first:",
)
QUEUE_NO_MORE = N_("That was the last draft waiting.")
QUEUE_LINE = N_("<b>#{id}</b> {title}\n<i>{category} · {source}</i>")
QUEUE_PAGE_HINT = N_("Open a draft's notice for its preview; or decide here:")
# /queue's buttons under the list, one row per draft: a symbol and the draft's number
BUTTON_QUEUE_APPROVE = N_("✅ #{id}")
BUTTON_QUEUE_CHANGES = N_("✏️ #{id}")
BUTTON_QUEUE_REJECT = N_("✖️ #{id}")
QUEUE_MINE_HEADER = N_("📝 <b>Your drafts</b>, the latest first:")
QUEUE_MINE_EMPTY = N_(
    "You have no drafts yet. Send /add to write one: it goes to the editors for review."
)
QUEUE_MINE_LINE = N_("• <b>#{id}</b> {title} — {state}")
QUEUE_STATES = {
    "waiting": N_("waiting for review"),
    "changes": N_("changes requested"),
    "rejected": N_("rejected"),
    "approved": N_("approved"),
}

# one-line and guided /add: a link stored before
PROBLEM_DUPLICATE = N_("that link is already stored as #{id}.")

# /stats
STATS_HEADER = N_("📊 <b>Statistics</b>")
STATS_SUBSCRIBERS = N_("\n<b>Subscribers per category</b>")
STATS_ALL_CATEGORIES = N_("All categories")
STATS_ITEMS = N_("\n<b>Items per category</b>")
STATS_LINE = N_("• {name}: {count}")
STATS_NONE = N_("• none yet")
STATS_DELIVERIES = N_(
    "\n<b>Deliveries today</b> (since 00:00 {tz})\n"
    "• sent: {sent}\n• failed: {failed}\n• pending: {pending}"
)
STATS_ACTIVE_CHATS = N_("\n<b>Chats</b>: {active} active, {inactive} gone (blocked or left)")

# the report after a broadcast
BROADCAST_REPORT = N_(
    "📬 <b>#{id} delivered</b> — {title}\n"
    "• sent: {sent}\n• blocked: {blocked}\n• failed: {failed}\n• time taken: {took}"
)
DURATION_SECONDS = N_("{s} s")
DURATION_MINUTES = N_("{m} min {s} s")
DURATION_HOURS = N_("{h} h {m} min")

# /edit and /delete
CORRECT_LIST_HEADER = N_("🔢 <b>The last {n} items</b> — send <code>/{command} NUMBER</code>:")
CORRECT_LIST_LINE = N_("<b>#{id}</b> · {date} · {title}")
CORRECT_NO_ITEMS = N_("There are no items to {command} yet.")
CORRECT_BAD_NUMBER = N_(
    "“{text}” is not an item number. Send <code>/{command} 3</code>, or just "
    "<code>/{command}</code> to see the last ten items with their numbers."
)
CORRECT_UNKNOWN = N_(
    "There is no item <b>#{id}</b> (it may have been deleted). Send <code>/{command}</code> "
    "to see the last ten items with their numbers."
)
EDIT_WHICH = N_("✏️ <b>Editing #{id}</b> — what do you want to change?")
EDIT_PREVIEW = N_("👀 <b>#{id} after your change</b> — Save to apply it:")
EDIT_SAVED = N_("💾 Saved #{id}. Sent messages updated: {updated} of {total}.")
EDIT_SAVED_FAILED = N_(" Not updated (chat gone or message deleted): {failed}.")
EDIT_NOTHING = N_(
    "That is the value it already has; nothing to change. Send a different one, or /cancel."
)
EDIT_CANCELLED = N_("✖️ Cancelled. #{id} is unchanged.")
DELETE_CONFIRM = N_(
    "🗑 Delete this item? It leaves every listing, and the messages sent for it are retracted."
)
BUTTON_DELETE = N_("🗑 Yes, delete")
BUTTON_KEEP = N_("Keep it")
DELETE_DONE = N_(
    "🗑 Deleted #{id}. Messages retracted: {deleted}. Pending deliveries cancelled: {cancelled}."
)
DELETE_TOO_OLD = N_(
    " {old} sent more than 48 hours ago could not be retracted (Telegram allows deleting "
    "only for 48 hours); they stay in those chats."
)
DELETE_FAILED = N_(" Could not retract {failed} (chat gone or message already deleted).")
DELETE_KEPT = N_("Kept #{id}; nothing changed.")


# --- Feeds: /feeds for admins, and what admins hear from the poller ----------------------------

FEEDS_USAGE = N_(
    "📡 <b>Feeds</b> bring in items from the RSS and Atom feeds of co-op organisations.\n"
    "• <code>/feeds</code> — list the feeds\n"
    "• <code>/feeds add https://example.coop/feed.xml [category]</code> — subscribe; "
    "without a category each entry goes to its own category if that exists, else to "
    "<b>{default}</b>\n"
    "• <code>/feeds add https://example.coop/flux.xml Actualités fr</code> — a last word such "
    "as <code>fr</code> gives the entries' language when the feed does not say (else English)\n"
    "• <code>/feeds add https://example.coop/news.xml News review</code> — a last word "
    "<code>review</code> holds each new entry in /queue until an editor approves it\n"
    "• <code>/feeds review 1 on</code> (or <code>off</code>) — hold feed #1's entries for "
    "review, or publish them as they come\n"
    "• <code>/feeds remove 1</code> — unsubscribe from feed #1 (its items stay)"
)
FEEDS_NOT_ALLOWED = N_("Sorry, only the bot's admins can manage feeds.")
FEEDS_NONE = N_(
    "There are no feeds yet. Add one with <code>/feeds add https://example.coop/feed.xml</code>."
)
FEEDS_HEADER = N_("📡 <b>Feeds</b> · checked every {minutes} min")
FEEDS_LINE = N_("<b>#{id}</b> {title}\n{url}\n🗂 {category} · 🌐 {language}{status}")
FEEDS_LANGUAGE_FROM_FEED = N_("as the feed says, else {language}")
FEEDS_OWN_CATEGORY = N_("the entries' own categories")
FEEDS_NEVER_READ = N_(" · not read yet")
FEEDS_BROKEN = N_(" · ⚠️ {reason}")
FEEDS_MORE = N_("…and {n} more.")
FEEDS_FOOTER = N_("Remove one with <code>/feeds remove &lt;number&gt;</code>.")
FEEDS_ADDED = N_("✅ Subscribed to <b>{title}</b> as feed <b>#{id}</b> ({entries} in it now).")
FEEDS_ADDED_IMPORTED = N_(
    "The newest {imported} are in /latest; they are not sent to subscribers, being old news. "
    "New entries will be published and sent as they appear (checked every {minutes} min)."
)
FEEDS_ADDED_NOTHING = N_(
    "New entries will be published and sent as they appear (checked every {minutes} min)."
)
FEEDS_ADDED_REVIEW = N_(
    "Its newest {held} wait in /queue for an editor, and so will every new entry (checked "
    "every {minutes} min): nothing from it goes out until an editor approves it."
)
FEEDS_UNDER_REVIEW = N_(" · 📝 held for review")
FEEDS_REVIEW_ON = N_(
    "📝 Feed <b>#{id}</b> ({title}) is now held for review: its new entries wait in /queue."
)
FEEDS_REVIEW_OFF = N_(
    "📡 Feed <b>#{id}</b> ({title}) publishes its new entries as they come again."
)
FEEDS_REVIEW_USAGE = N_(
    "Say which feed and whether to hold it: <code>/feeds review 2 on</code> or "
    "<code>/feeds review 2 off</code>. /feeds lists them."
)
FEED_ENTRIES = NP_("{n} entry", "{n} entries")
FEEDS_ADD_FAILED = N_("⚠️ I could not add that feed: {reason}")
FEEDS_ADD_PROBLEMS = {
    "bad_url": N_("the address must be a full web address starting with http:// or https://."),
    "already_subscribed": N_("it is already feed <b>#{id}</b>."),
    "bad_category": N_("the category must be 1 to {max} characters long."),
    "bad_language": PROBLEMS["bad_language"],  # the same message as for /add
}
FEED_ERRORS = {
    "http_status": N_("the server answered with HTTP status {detail}."),
    "too_big": N_("the file is larger than the {max_mb} MB limit."),
    "timeout": N_("the server did not answer within {seconds} seconds."),
    "unreachable": N_("the server could not be reached ({detail})."),
    "not_a_feed": N_("the address does not hold an RSS or Atom feed."),
}
FEEDS_REMOVE_USAGE = N_(
    "Which feed? Send <code>/feeds remove &lt;number&gt;</code>; /feeds lists the numbers."
)
FEEDS_UNKNOWN = N_("There is no feed #{id}. /feeds lists them.")
FEEDS_REMOVED = N_("🗑 Feed <b>#{id}</b> ({title}) is removed. The items it brought stay.")
FEED_BROKEN_ALERT = N_(
    "⚠️ Feed <b>#{id}</b> {title} is not working: {reason}\n"
    "I keep trying, less often, and will tell you once when it works again."
)
FEED_RECOVERED_ALERT = N_("✅ Feed <b>#{id}</b> {title} works again.")


# coopbot import / export / feeds import: an operator's terminal, so plain English text, like
# the logs (not in the catalogues). Validation problems
# reuse PROBLEMS above (tags removed).
IMPORT_PROBLEMS = {
    "bad_json": ("not valid JSON here; the rest of the file was not read."),
    "bad_csv_header": (
        "the first line must name the columns category,title,url,summary,published "
        "(and optionally language; missing: {missing})."
    ),
    "not_an_object": (
        "each item must be an object with category, title, url, summary, published, language."
    ),
    "bad_date": ("“{value}” is not an ISO 8601 date like 2026-11-25 or 2026-11-25T10:00:00+01:00."),
    "bad_field": ("{column} must be text."),
    "bad_category_names": (
        "category_names must be the category's names by language (en, fr or es), each 1 to "
        '{max} characters, as a JSON object like {{"fr": "Travail décent"}}.'
    ),
    "category_name_taken": (
        "“{name}” (a name for the category “{category}”) is already another category's name; "
        "it was left out, the item was loaded."
    ),
    "bad_opml": ("not well-formed XML here ({error}), so not OPML: nothing was imported."),
    "not_opml": (
        "this is not an OPML file (its first element is “{element}”, not “opml”): nothing was "
        "imported."
    ),
    "bad_feed_language": (
        "the feed {url} has the language “{code}”, which is not a language code "
        "(two letters, such as en, fr or es)."
    ),
    "no_feed_url": ("the feed “{name}” has no xmlUrl address."),
    "bad_feed_url": ("the feed address {url} must start with http:// or https://."),
    "bad_feed_category": ("the folder name is not a usable category (1 to {max} characters)."),
    "unknown_story": (
        "version_of names {url}, which is not stored (nor earlier in the file): "
        "the original comes before its versions."
    ),
}
IMPORT_PROBLEM_LINE = "{file}:{line}: {problem}"


# subscriptions (/subscribe, /unsubscribe, /subscriptions) and pushed items
SUBSCRIBE_CHOOSE = N_(
    "🔔 <b>Subscriptions</b> — tap a category to follow it or stop; ✅ marks what this chat "
    "gets as soon as it is published."
)
SUBSCRIBE_NO_CATEGORIES = N_(
    "There are no categories yet. You can still follow everything with <code>/subscribe all</code>."
)
SUBSCRIBE_BUTTON = N_("{mark}{name}")
SUBSCRIBE_ALL_BUTTON = N_("{mark}All categories")
SUBSCRIBE_CHECK = N_("✅ ")
SUBSCRIBE_DONE_BUTTON = N_("Done")
SUBSCRIBED = N_("🔔 Subscribed: new items in <b>{name}</b> will arrive here.")
SUBSCRIBED_ALL = N_("🔔 Subscribed to <b>all categories</b>: every new item will arrive here.")
ALREADY_SUBSCRIBED = N_("This chat already follows <b>{name}</b>.")
ALREADY_SUBSCRIBED_ALL = N_("This chat already follows <b>all categories</b>.")
UNSUBSCRIBED = N_("🔕 Unsubscribed from <b>{name}</b>.")
UNSUBSCRIBED_ALL = N_("🔕 Unsubscribed from everything. Nothing more will be pushed here.")
NOT_SUBSCRIBED = N_(
    "This chat does not follow <b>{name}</b>. /subscriptions shows what it follows."
)
NOT_SUBSCRIBED_ANY = N_("This chat follows nothing, so there is nothing to stop.")
UNSUBSCRIBE_CHOOSE = N_("🔕 <b>Stop a subscription</b> — tap ✅ to stop it:")
SUBSCRIPTIONS_NONE = N_("This chat follows nothing yet. /subscribe to choose categories.")
SUBSCRIPTIONS_ALL = N_("🔔 This chat follows <b>all categories</b>.")
SUBSCRIPTIONS_LIST = N_("🔔 This chat follows:\n{lines}")
SUBSCRIPTIONS_LINE = N_("• {name}")
SUBSCRIPTIONS_FOOTER = N_("\n/subscribe to change, /unsubscribe all to stop everything.")
SUBSCRIBE_ADMINS_ONLY = N_(
    "Sorry, only this group's administrators can change what it is subscribed to."
)
SUBSCRIBE_ADMINS_ONLY_ALERT = N_("Only the group's administrators can change its subscriptions.")
SUBSCRIBE_NAME_TOO_LONG = N_("That name is too long for a category (at most {max} characters).")
SUBSCRIBE_UNKNOWN = N_("I don't know a category called “{name}”. Tap one below:")
SUBSCRIBE_AMBIGUOUS = N_("“{name}” matches more than one category. Tap the one you mean:")
SUBSCRIBE_TOGGLED_ON = N_("Following {name}")
SUBSCRIBE_TOGGLED_OFF = N_("Stopped {name}")
SUBSCRIBE_ALL_NAME = N_("all categories")
SUBSCRIBE_CHANNEL_DONE = N_("Channel <b>{title}</b>: {result}")
SUBSCRIBE_CHANNEL_UNKNOWN = N_(
    "I cannot reach the chat <code>{chat}</code>. Add me to the channel as an administrator "
    "first, then try again."
)
SUBSCRIBE_CHANNEL_NOT_ALLOWED = N_("Only the bot's admins can manage another chat's subscriptions.")
DELIVERY_FOOTER = N_("<i>🔔 Subscribed news · /subscriptions to manage · /unsubscribe to stop</i>")

# command line (`coopbot …`): what operators read in their terminal
CLI_NO_TOKEN = (
    "BOT_TOKEN is not set. Put it in the environment or .env, "
    "or try the bot offline with: coopbot sandbox"
)
CLI_SEEDED = "Loaded {added} sample items ({skipped} already there) from {source}."
CLI_SCHEMA_CURRENT = "Database schema is up to date."
CLI_CANNOT_READ = "coopbot: cannot read {file}: {error}"
CLI_LOADED = "Loaded {added} {what} from {file} ({skipped} already there, {bad} bad rows)."
CLI_LOADED_ITEMS = "items"
CLI_LOADED_FEEDS = "feeds"
CLI_EXPORTED = "Exported {count} items to {target}."
CLI_EXPORTED_FEEDS = "Exported {count} feeds to {target}."
CLI_EXPORT_FEEDS_APART = (
    "Feeds ({count}) are not in this file: coopbot feeds export FILE.opml writes them."
)
CLI_CANNOT_WRITE = "coopbot: cannot write {file}: {reason}."
CLI_BACKUP_REFUSED = "coopbot: no backup made: {reason}."
CLI_BACKUP_NOT_SQLITE = (
    "coopbot backup copies a SQLite store, and DATABASE_URL is {dialect}. Back PostgreSQL up "
    "with pg_dump --format=custom --file=coopbot.dump DBNAME and restore with pg_restore "
    "(docs/operations.md#backup-and-restore)."
)
CLI_BACKED_UP = "Backed up {store} to {file} ({megabytes:.1f} MB in {seconds:.1f} s)."
# why a file cannot be written (bot.services.files), and a store not copied (…backup)
CLI_WRITE_PROBLEMS = {
    "no_folder": "the folder {folder} does not exist",
    "is_a_folder": "that is a folder; name a file in it",
    "not_writable": "no file can be made in {folder} ({error})",
    "read_only": "the file is read-only",
    "protected": "that is the store's own file {protected}; name another file",
    "write_failed": "writing failed ({error}); nothing was left behind",
}
CLI_BACKUP_PROBLEMS = {
    "in_memory": "DATABASE_URL names an in-memory SQLite database, which has nothing to copy",
    "no_store": "there is no SQLite store at {store} (DATABASE_URL)",
    "not_a_store": "{store} is not a SQLite database ({error})",
    "check_failed": "the copy failed SQLite's check ({error}); nothing was left behind",
}
CLI_STANDARD_OUTPUT = "standard output"
CLI_CONFIG_ERROR = "Configuration error: {error}"
CLI_FAILED = "coopbot: {error}"
STARTUP_TOKEN_REJECTED = "Telegram rejected BOT_TOKEN (401 Unauthorized). Check the token."
STARTUP_API_UNREACHABLE = "Cannot reach the Telegram Bot API at {url}: {error}"
STARTUP_DATABASE_UNUSABLE = "DATABASE_URL is not usable: {reason}"
STARTUP_LISTEN_UNUSABLE = "{setting} {address} is not usable: {error}"
STARTUP_WEBHOOK_REFUSED = "Telegram refused the webhook {url}: {error}"


# /language: the chat's interface language, and the languages of the news it gets
LANGUAGE_MENU = N_(
    "🌐 <b>Language</b>\n"
    "I speak <b>{language}</b> in this chat. Tap another language to switch.\n\n"
    "📰 <b>News in</b>: {news}\n"
    "Tap a 📰 button to receive news written in that language or not."
)
LANGUAGE_SWITCHED = N_("✅ From now on I speak English in this chat.")
LANGUAGE_UNKNOWN = N_(
    "I don't speak “{code}”. Choose one of these:\n"
    "<code>/language en</code> — English\n"
    "<code>/language fr</code> — Français\n"
    "<code>/language es</code> — Español"
)
LANGUAGE_ADMINS_ONLY = N_("Sorry, only this group's administrators can change its language.")
LANGUAGE_ADMINS_ONLY_ALERT = N_("Only the group's administrators can change its languages.")
NEWS_IN_ALL = N_("all languages")
NEWS_IN_OTHERS = N_("other languages")
NEWS_IN_BUTTON = N_("{mark}📰 {language}")
NEWS_IN_OTHERS_BUTTON = N_("{mark}📰 Other languages")
NEWS_IN_CHECK = "✅ "
NEWS_IN_ON = N_("You will now receive news in {language}.")
NEWS_IN_OFF = N_("You will no longer receive news in {language}.")
# "other languages" is no language's name: its own sentences, so each language can word them
NEWS_IN_OTHERS_ON = N_("You will now receive news in other languages.")
NEWS_IN_OTHERS_OFF = N_("You will no longer receive news in other languages.")
NEWS_IN_LAST = N_("At least one language must stay on, or this chat would receive no news at all.")
SUBSCRIPTIONS_NEWS_IN = N_("📰 News in: {news} (/language to change)")


# Inline mode, deep links and sharing (@CoopNewsBot in any chat, /start item_N, /start sub_N)
SHARE_BUTTON = N_("↗️ Share")
SHARE_ITEM_BUTTON = N_("↗️ Share: {title}")
INLINE_OPEN_BOT = N_("Open Co-op News Bot")
INLINE_OPEN_ITEM_BUTTON = N_("📰 Open in Co-op News Bot")
ITEM_LINK_HINT = N_("<i>/latest for the newest items · /subscribe to get news as it comes</i>")
ITEM_GONE = N_("Sorry, this item is no longer available. /latest shows the newest co-op news.")
SUBSCRIBE_LINK_OFFER = N_(
    "🔔 Get new items in <b>{name}</b> in this chat as they are published? "
    "Tap the button to subscribe."
)
SUBSCRIBE_LINK_BUTTON = N_("🔔 Subscribe to {name}")
SUBSCRIBE_LINK_UNKNOWN = N_(
    "That category no longer exists. /subscribe lists the categories you can follow."
)

# /search
SEARCH_HELP = N_(
    "🔎 <b>Search the news</b>\n"
    "Send /search and the words to look for:\n"
    "<code>/search cooperative statistics</code> — items with both words\n"
    '<code>/search "decent work"</code> — this exact phrase\n'
    "<code>/search conference -malaysia</code> — leave out items with a word\n"
    "<code>/search myanmar or brazil</code> — either word\n\n"
    "Capitals and accents do not matter, and “cooperative” also finds “cooperatives”."
)
SEARCH_NOTHING = N_(
    "There is no word to look for in that: a search needs at least one word "
    "that is not excluded with a minus sign."
)
SEARCH_HEADER = N_("🔎 <b>Results for “{query}”</b>")
SEARCH_MORE_HEADER = N_("🔎 <b>More results for “{query}”</b>")
SEARCH_NO_MATCH = N_(
    "🔎 Nothing matches “{query}”. Try fewer or other words, or browse the news by topic "
    "with /category."
)
SEARCH_NO_MATCH_IN_LANGUAGES = N_(
    "🔎 Nothing matches “{query}” in the languages this chat reads (/language changes them). "
    "Try fewer or other words, or browse the news by topic with /category."
)
SEARCH_NO_MORE = N_("That was the last result.")

# Pictures (delivery side): the admin told of a broken picture (pushed items' Share button
# is SHARE_BUTTON above)
IMAGE_BROKEN_REPORT = N_(
    "🖼 <b>The picture of #{id} could not be sent</b> — {title}\n"
    "Telegram answered: <code>{error}</code>\n"
    "The item went out as text without it, and will from now on."
)


# --- Pictures, the input side: guided /add, a photo with an /add caption, /edit, checks ---------

PROBLEMS.update(
    {
        "bad_image_url": N_(
            "the picture's address must be a full web address starting with https:// "
            "(http:// and other kinds are not accepted)."
        ),
        "image_url_too_long": N_(
            "the picture's address is {length} characters long; the limit is {max}."
        ),
        "photo_too_big": N_("the photo is {size} MB; the limit is {max} MB. Send a smaller one."),
        "caption_too_long": N_(
            "the caption is {length} characters long; a photo's caption may have at most {max}. "
            "Shorten the summary, or use the guided /add."
        ),
    }
)
ADD_ASK_PHOTO = N_(
    "Step 5 of 5: send a <b>photo</b> for the item (or the https:// address of a picture), "
    "or press Skip."
)
ADD_ASK_NEW["image"] = N_("Send the new <b>picture</b>: a photo, or the https:// address of one.")
FIELD_NAMES["image"] = N_("Picture")
ADD_PHOTO_NOT_NOW = N_(
    "📷 I'm not asking for a picture at this step. Please answer the last question, "
    "or send /cancel."
)
ADD_PICTURE_REFUSED = N_(
    "⚠️ Telegram could not use this picture (<code>{error}</code>), so subscribers would get "
    "the item without it. Choose ✏️ Edit → Picture to send another one."
)
PHOTO_HINT = N_(
    "📷 To publish this photo as an item, send it again with the caption "
    "<code>/add Category | Title | https://link | optional summary</code>, "
    "or send /add for the guided form."
)
BUTTON_REMOVE_PICTURE = N_("🗑 Remove picture")
EDIT_PICTURE_REMOVED = N_("🖼 The picture will be removed.")
HELP_ADMIN_PICTURES = N_(
    "🖼 Pictures: the guided /add asks for a photo at its last step; or send a photo with the "
    "caption <code>/add Category | Title | https://link | summary</code>. "
    "/edit changes or removes an item's picture."
)


# --- Quiet hours and forum topics (hx-topics) ----------------------------------------------

QUIET_SHOW = N_(
    "🌙 Quiet hours: <b>{start}–{end}</b> ({zone}). New items pushed in that time arrive "
    "without a sound.\n"
    "<code>/quiet 22:00-07:00</code> to change them, <code>/quiet off</code> to remove them."
)
QUIET_NONE = N_(
    "🔔 No quiet hours: new items arrive with a sound at any time.\n"
    "<code>/quiet 22:00-07:00</code> sets quiet hours ({zone}): items pushed in that time "
    "arrive without a sound."
)
QUIET_SET = N_(
    "🌙 Quiet hours set: <b>{start}–{end}</b> ({zone}). New items pushed in that time will "
    "arrive without a sound; nothing is held back."
)
QUIET_OFF = N_("🔔 Quiet hours removed: new items arrive with a sound at any time.")
QUIET_ALREADY_OFF = N_("This chat has no quiet hours.")
QUIET_BAD_FORM = N_(
    "I couldn't read “{given}”. Write the start and end as hours and minutes, for example "
    "<code>/quiet 22:00-07:00</code>, or <code>/quiet off</code>."
)
QUIET_EMPTY_WINDOW = N_(
    "Quiet hours must start and end at different times, for example "
    "<code>/quiet 22:00-07:00</code>."
)
QUIET_ADMINS_ONLY = N_("Only the group's administrators can change its quiet hours.")
SUBSCRIBED_TOPIC = N_("🔔 Subscribed: new items in <b>{name}</b> will arrive in this topic.")
SUBSCRIBED_ALL_TOPIC = N_(
    "🔔 Subscribed to <b>all categories</b>: every new item will arrive in this topic."
)
SUBSCRIPTIONS_LINE_TOPIC = N_("• {name} → 💬 {topic}")
SUBSCRIPTIONS_ALL_TOPIC = N_("💬 They arrive in the topic <b>{topic}</b>.")
TOPIC_UNNAMED = N_("topic #{id}")
TOPIC_GONE_NOTICE = N_(
    "⚠️ <b>For the group's administrators:</b> the topic <b>{topic}</b> is closed or was "
    "deleted, so new items meant for it now arrive here in General. Send /subscribe inside "
    "an open topic to route them there again."
)
# --- Keyword filters: /filter, its keyboard, and what /subscriptions and /stats say of them ---

FILTER_HOW = N_(
    '<code>/filter add housing "worker co-op"</code> — only news with one of these words '
    "or phrases\n"
    "<code>/filter add -bank</code> — never news with this word\n"
    "<code>/filter remove housing</code> — take a term away\n"
    "<code>/filter clear</code> — take them all away\n"
    "Capitals and accents do not matter, and only whole words count: “bank” does not match "
    "“embankment”. At most {max} terms, each up to {length} characters."
)
FILTER_NONE = N_(
    "🔍 <b>Keyword filters</b>\nThis chat gets every item it subscribes to. "
    "To get only some of them:\n{how}"
)
FILTER_SHOW = N_("🔍 <b>Keyword filters</b>\n{rules}\n\n{how}")
FILTER_INCLUDE = N_("✅ Only news with: {terms}")
FILTER_EXCLUDE = N_("🚫 Never news with: {terms}")
FILTER_TERM = N_("“{term}”")
FILTER_ADDED = N_("✅ Filters saved.")
FILTER_REMOVED = N_("🗑 Removed: {terms}.")
FILTER_CLEARED = N_("🗑 Filters cleared: this chat gets every item it subscribes to again.")
FILTER_NOTHING_TO_CLEAR = N_("This chat has no keyword filters. /filter shows how to add some.")
FILTER_USAGE = N_("Nothing was changed. To change this chat's filters, write:\n{how}")
FILTER_ONLY_PUNCTUATION = N_(
    "“{term}” has no letters or digits to look for, so nothing was changed. "
    'A term is a word or a phrase in quotes: <code>/filter add housing "worker co-op"</code>'
)
FILTER_TOO_LONG = N_(
    "A term may have at most {max} characters; “{term}” has {length}, so nothing was changed. "
    'Try a shorter phrase: <code>/filter add "worker co-op"</code>'
)
FILTER_TOO_MANY = N_(
    "A chat may have at most {max} terms; this one has {count} and you are adding {adding}, "
    "so nothing was changed. Take some away first: <code>/filter remove housing</code>"
)
FILTER_UNKNOWN_TERM = N_(
    "“{term}” is not one of this chat's filters, so nothing was changed. "
    "Send /filter to see them, and <code>/filter remove word</code> to take one away."
)
FILTER_ADMINS_ONLY = N_("In groups only administrators can change the keyword filters.")
FILTER_ADMINS_ONLY_ALERT = N_("Only this group's administrators can change the filters.")
FILTER_REMOVE_BUTTON = N_("✖️ {term}")
FILTER_CLEAR_BUTTON = N_("🗑 Clear all")
FILTER_BUTTON_STALE = N_(
    "This button no longer works: nothing was changed. Send /filter to see the filters, "
    "or /filter remove word."
)
FILTER_REMOVED_ALERT = N_("Removed “{term}”.")
FILTER_CLEARED_ALERT = N_("All filters cleared.")
SUBSCRIPTIONS_FILTERS = N_("🔍 Keyword filters (/filter to change):\n{rules}")
SUBSCRIPTIONS_NO_FILTERS = N_("🔍 No keyword filters: every item is sent (/filter to add some).")
STATS_FILTERED = N_("\n<b>Pushes held back by keyword filters</b>: {count}")


# --- Digests and time zones (/digest, /timezone; the digest message itself) ---------------------


def _with_commands(after: str, *added: Command) -> tuple[Command, ...]:
    at = next(i for i, c in enumerate(COMMANDS) if c.name == after) + 1
    return (*COMMANDS[:at], *added, *COMMANDS[at:])


COMMANDS = _with_commands(
    "quiet",
    Command(
        "digest",
        N_("One message a day or a week instead of each item"),
        N_("[off | daily 08:00 | weekly mon 08:00]"),
    ),
    Command("timezone", N_("This chat's time zone, for digests"), N_("[Region/City]")),
)

DIGEST_SHOW_OFF = N_(
    "📬 <b>Digest: off</b> — new items arrive here as they are published.\n"
    "For one message a day or a week instead: <code>/digest daily 08:00</code> or "
    "<code>/digest weekly mon 08:00</code>, or choose below. Times are in {tz} (/timezone)."
)
DIGEST_SHOW_DAILY = N_(
    "📬 <b>Digest: every day at {time}</b> ({tz}).\n"
    "New items come together in one message instead of one by one. "
    "<code>/digest off</code> goes back to instant pushes."
)
DIGEST_SHOW_WEEKLY = N_(
    "📬 <b>Digest: every {weekday} at {time}</b> ({tz}).\n"
    "New items come together in one message instead of one by one. "
    "<code>/digest off</code> goes back to instant pushes."
)
DIGEST_PROBLEM_TIME = N_("“{text}” is not a time of day: write it as HH:MM, from 00:00 to 23:59.")
DIGEST_PROBLEM_WEEKDAY = N_(
    "“{text}” is not a day of the week: write mon, tue, wed, thu, fri, sat or sun."
)
DIGEST_PROBLEM_FORM = N_("I did not understand that.")
DIGEST_BAD_INPUT = N_(
    "⚠️ Nothing was changed: {problem}\n"
    "Write <code>/digest daily 08:00</code>, <code>/digest weekly mon 08:00</code> or "
    "<code>/digest off</code>."
)
DIGEST_ADMINS_ONLY = N_("Sorry, only this group's administrators can change its digest.")
DIGEST_ADMINS_ONLY_ALERT = N_("Only the group's administrators can change its digest.")
DIGEST_BUTTON_OFF = N_("Instant")
DIGEST_BUTTON_DAILY = N_("Daily")
DIGEST_BUTTON_WEEKLY = N_("Weekly")
DIGEST_CHOOSE_DAY = N_("📬 On which day should the weekly digest come?")
DIGEST_CHOOSE_TIME = N_("📬 At what time should the digest come? ({tz})")
DIGEST_MODE_OFF = N_("off (items arrive as they are published)")
DIGEST_MODE_DAILY = N_("every day at {time}")
DIGEST_MODE_WEEKLY = N_("every {weekday} at {time}")
SUBSCRIPTIONS_DIGEST = N_("📬 Digest: {digest} · time zone {tz} (/digest, /timezone)")
DIGEST_HEADER = NP_("📬 <b>Your digest</b> · {n} item", "📬 <b>Your digest</b> · {n} items")
DIGEST_CONTINUED = N_("📬 <b>Your digest</b> (continued)")

TIMEZONE_SHOW = N_(
    "🕰 This chat's time zone is <b>{tz}</b> (it is {time} there now).\n"
    "To change it, choose one below or send it as Region/City: "
    "<code>/timezone Europe/Paris</code>."
)
TIMEZONE_SET = N_("🕰 Time zone set to <b>{tz}</b>; it is {time} there now.")
TIMEZONE_UNKNOWN = N_(
    "⚠️ Nothing was changed: “{name}” is not a time zone I know. Write it as Region/City, "
    "for example <code>/timezone Europe/Paris</code> or <code>/timezone America/Bogota</code>."
)
TIMEZONE_ADMINS_ONLY = N_("Sorry, only this group's administrators can change its time zone.")
TIMEZONE_ADMINS_ONLY_ALERT = N_("Only the group's administrators can change its time zone.")

# /translate: a version of a published item in another language (one story, one message each)
TRANSLATE_USAGE = N_(
    "🌐 To add a version of a published item in another language:\n"
    "<code>/translate 3 fr</code> asks for it step by step (in a private chat with me);\n"
    "<code>/translate 3 fr | Title | https://link | summary</code> publishes it at once.\n\n"
    "Each reader gets one message per story, in the version that suits them best."
)
TRANSLATE_BAD_NUMBER = N_(
    "⚠️ “{text}” is not an item number. Write it like this: <code>/translate 3 fr</code>."
)
TRANSLATE_UNKNOWN = N_(
    "⚠️ There is no published item <b>#{id}</b> (it may have been deleted). "
    "Send <code>/edit</code> to see the last ten items with their numbers."
)
TRANSLATE_TAKEN = N_(
    "⚠️ This story already has a version in {language}: <b>#{id}</b>. "
    "To change it, send <code>/edit {id}</code>."
)
# {ref}: "#12" for a published item, "s3" for a scheduled one
TRANSLATE_ASK_TITLE = N_(
    "🌐 <b>{language} version of {ref}</b>: “{title}”\n"
    "Step 1 of 3: send the <b>title</b> in {language}.\n\n"
    "<i>The category and the picture stay those of {ref}. /cancel stops at any step.</i>"
)
TRANSLATE_ASK_LINK = N_(
    "Step 2 of 3: send the <b>link</b> to the page in {language} (https://…), or press Skip."
)
TRANSLATE_ASK_SUMMARY = N_("Step 3 of 3: send a short <b>summary</b> in {language}, or press Skip.")
TRANSLATE_PREVIEW = N_(
    "👀 <b>Preview</b> of the {language} version of {ref}: this is how readers will see it."
)
TRANSLATE_DONE = N_(
    "✅ Published as <b>#{id}</b>, the {language} version of #{original}. Chats that have "
    "not had this story yet and read {language} get it now; the others already have it."
)
TRANSLATE_SCHEDULED_UNKNOWN = N_(
    "⚠️ There is no scheduled item <b>{ref}</b> (it may have gone out already: then use its "
    "number, such as <code>/translate 3 fr</code>)."
)
TRANSLATE_SCHEDULED_TAKEN = N_(
    "⚠️ The scheduled item {ref} already has a version in {language}; nothing was added."
)
TRANSLATE_SCHEDULED_DONE = N_(
    "🕒 The {language} version of {ref} will go out with it, on <b>{when}</b> ({tz}). Each "
    "reader will get one message, in the version that suits them best."
)
SCHEDULED_VERSIONS_HINT = N_(
    "🌐 To add a version in another language before it goes out: <code>/translate {ref} fr</code>."
)
ITEM_VERSIONS = N_("🌐 Versions: {versions}")
ITEM_VERSION = N_("#{id} {language}")
ITEM_VERSION_ORIGINAL = N_("#{id} {language} (original)")

# retention: an item older than DELIVERY_KEEP_DAYS no longer has its sent messages on record
EDIT_PAST_KEEPING = N_(
    "ℹ️ #{id} went out more than {days} days ago: the record of its sent messages is no longer "
    "kept, so they can no longer be corrected. Your change will show in listings and searches."
)
DELETE_PAST_KEEPING = N_(
    "ℹ️ #{id} went out more than {days} days ago: the record of its sent messages is no longer "
    "kept, so they stay in the chats. It will leave every listing."
)


# --- A reader's data: /privacy (what the bot keeps about a chat) and /forget (erase it) --------

COMMANDS = _with_commands(
    "start",
    Command("privacy", N_("What the bot keeps about this chat, and how to erase it")),
    Command("forget", N_("Erase everything the bot keeps about this chat")),
)

PRIVACY_HEADER = N_("🔒 <b>Your data</b>\nWhat I keep about this chat:")
PRIVACY_NAME = N_("• its Telegram id and type, and its name as Telegram gives it: {name}")
PRIVACY_NO_NAME = N_("• its Telegram id and type")
PRIVACY_FOLLOWS = N_("• subscriptions: {following}")
PRIVACY_FOLLOWS_ALL = N_("all categories")
PRIVACY_FOLLOWS_SOME = NP_("{n} category", "{n} categories")
PRIVACY_FOLLOWS_NONE = N_("• subscriptions: none")
PRIVACY_FILTERS = NP_("• keyword filters: {n} term", "• keyword filters: {n} terms")
PRIVACY_FILTERS_NONE = N_("• keyword filters: none")
PRIVACY_LANGUAGE = N_("• language: {language} · News in: {news}")
PRIVACY_ZONE = N_("• time zone: {tz}")
PRIVACY_ZONE_DEFAULT = N_("• time zone: none of its own (the bot's, {tz})")
PRIVACY_QUIET = N_("• quiet hours: {start}–{end}")
PRIVACY_QUIET_NONE = N_("• quiet hours: none")
PRIVACY_DIGEST = N_("• digest: {digest}")
PRIVACY_SENT = N_(
    "• which items and digests were sent here, and when: kept {days} days, so that "
    "corrections reach the messages; after that only the items' daily totals count them, "
    "without this chat"
)
PRIVACY_SEARCHES = N_("• the words of a /search, for a day, for its More button")
PRIVACY_NEVER = N_(
    "<b>What I never keep</b>: phone numbers, contacts, and the text of your messages, except "
    "the words of a search for a day."
)
PRIVACY_ERASE = N_(
    "<b>To erase it</b>: /forget erases all of it, after asking you to confirm. In a group only "
    "its administrators can."
)
PRIVACY_ADMIN = N_(
    "🛡 <b>As an admin</b>: what you do as an admin (publishing, corrections, admins added or "
    "removed) stays in the audit log for {days} days. It is the service's record, not a "
    "reader's data: /forget does not erase it, nor the items you scheduled. Your unfinished "
    "/add or /edit is kept {hours} hours, and /forget erases it."
)

FORGET_CONFIRM = N_(
    "🗑 <b>Erase this chat's data?</b>\n"
    "I will forget everything /privacy lists: its subscriptions, keyword filters, language, "
    "time zone, quiet hours and digest, and the record of what was sent here. Nothing more "
    "will be pushed here until someone subscribes again. This cannot be undone."
)
FORGET_CONFIRM_ADMIN = N_("\n\nThe audit log keeps what you did as an admin.")
BUTTON_ERASE = N_("🗑 Yes, erase")
BUTTON_KEEP_DATA = N_("Keep")
FORGET_DONE = N_(
    "🗑 Erased. I keep nothing more about this chat, and nothing more will be pushed here. "
    "/start begins afresh."
)
FORGET_KEPT = N_("Kept: nothing was erased.")
FORGET_NOTHING = N_("I keep nothing about this chat, so there is nothing to erase.")
FORGET_ADMINS_ONLY = N_("Sorry, only this group's administrators can erase its data.")
FORGET_ADMINS_ONLY_ALERT = N_("Only the group's administrators can erase its data.")
FORGET_STALE = N_(
    "This button no longer works, so nothing was erased. Send /forget to start again."
)


# --- Members suggest news (/suggest; the editors' /suggestions, Draft and Dismiss) -------------

COMMANDS = _with_commands(
    "search",
    Command("suggest", N_("Suggest a link for the editors to publish"), N_("https://link [words]")),
)
COMMANDS = _with_commands(
    "admins",
    Command("suggestions", N_("Members' suggested links, to draft or dismiss (editors)"), "", True),
)

SUGGEST_USAGE = N_(
    "💡 <b>Suggest news</b>\n"
    "Send a link the editors may publish, with a few words if you like:\n"
    "<code>/suggest https://coop.example/news/harvest Our harvest festival is on Saturday</code>\n"
    "At most {limit} suggestions a day."
)
SUGGEST_RECEIVED = N_(
    "💡 Thank you! The editors received your suggestion: <b>{title}</b>. I will tell you "
    "if it is published."
)
SUGGEST_BAD_LINK = N_("That does not look like a web link. Send it like this:")
SUGGEST_NOT_HTTPS = N_(
    "Sorry, only secure links (starting with <code>https://</code>) can be suggested."
)
SUGGEST_BLOCKED = N_("Sorry, the editors no longer take suggestions from you.")
SUGGEST_TOO_MANY = N_(
    "Thank you for all these suggestions! That is {limit} today already; you can suggest "
    "again from {when}."
)
SUGGEST_PUBLISHED_ALREADY = N_("Good news: it is already published as <b>#{id}</b>:")
SUGGEST_SUGGESTED_ALREADY = N_("Someone already suggested this link: the editors will look at it.")
SUGGEST_PRIVATE_ONLY = N_(
    "💡 To suggest news, send /suggest to me in a private chat, so that the group is not disturbed."
)
BUTTON_OPEN_PRIVATE = N_("Open a private chat")
SUGGEST_HOW = N_(
    "💡 Only the editors publish items, but you can suggest one: send its link with "
    "<code>/suggest https://link</code> and a few words if you like."
)
SUGGESTION_FOR_EDITORS = N_(
    '💡 <b>A member suggests</b> (user {user_id}):\n<a href="{link}">{title}</a>'
)
SUGGESTION_WORDS = N_("Their words: {words}")
BUTTON_DRAFT = N_("📝 Draft")
BUTTON_DISMISS = N_("Dismiss")
SUGGESTIONS_HEADER = NP_(
    "💡 <b>{n} suggestion waits</b>, oldest first:", "💡 <b>{n} suggestions wait</b>, oldest first:"
)
SUGGESTIONS_MORE = N_("…and {n} more.")  # the same words as FEEDS_MORE
SUGGESTIONS_NONE = N_("💡 No suggestion waits.")
SUGGESTION_DISMISSED = N_("Dismissed: the member will be told, politely.")
SUGGESTION_DRAFTED = N_("📝 Drafting it: choose the category, then check the preview.")
SUGGESTION_DECIDED = {
    "drafted": N_("Already decided: user {user_id} took it into a draft."),
    "dismissed": N_("Already decided: user {user_id} dismissed it."),
    "published": N_("Already decided: it was published."),
}
SUGGESTION_UNKNOWN = N_("This suggestion no longer exists.")
SUGGESTION_DRAFT_PRIVATE = N_("Draft it from your private chat with me.")
NOTICE_SUGGESTION_PUBLISHED = N_(
    '🎉 The link you suggested is published as <b>#{id}</b>: <a href="{link}">{title}</a>. '
    "Thank you!"
)
NOTICE_SUGGESTION_DISMISSED = N_(
    'Thank you for suggesting <a href="{link}">{title}</a>. The editors decided not to '
    "publish it this time."
)
SUGGEST_BLOCK_USAGE = N_(
    "To stop a member suggesting: <code>/suggest block user_id</code>; to let them again: "
    "<code>/suggest unblock user_id</code>."
)
SUGGEST_BLOCK_DONE = N_("User {user_id} can no longer suggest news.")
SUGGEST_BLOCK_ALREADY = N_("User {user_id} was already blocked from suggesting.")
SUGGEST_UNBLOCK_DONE = N_("User {user_id} can suggest news again.")
SUGGEST_UNBLOCK_NOT = N_("User {user_id} was not blocked.")
PRIVACY_SUGGESTIONS = N_(
    "• the links you suggested with /suggest, and your words with them, until /forget"
)

# -- the web newsroom (bot/newsroom/): plain text, escaped by the templates ----------------------
WEB_COMMAND_OFF = N_(
    "The web newsroom is off. To turn it on, set <code>WEB_URL</code> (its public https "
    "address) and <code>WEB_LISTEN</code>, then restart the bot; see docs/newsroom.md."
)
WEB_LINK = N_(
    "🖥 Your sign-in link to the newsroom, valid for 10 minutes and for one use only:\n{url}\n"
    "Keep it to yourself: whoever opens it is signed in as you."
)
WEB_BUTTON_OPEN = N_("Open the newsroom")
WEB_BUTTON_NEWSROOM = N_("Newsroom")
WEB_LOGGED_OUT = N_("All your newsroom sessions are closed ({n}).")
WEB_TITLE = N_("Co-op News newsroom")
WEB_NAV_DASHBOARD = N_("Dashboard")
WEB_NAV_ITEMS = N_("Items")
WEB_NAV_COMPOSE = N_("Compose")
WEB_NAV_FEEDS = N_("Feeds")
WEB_NAV_AUDIT = N_("Audit")
WEB_SIGN_OUT = N_("Sign out")
WEB_SIGNED_IN_AS = N_("Signed in as {user_id} ({role})")
WEB_ROLES = {"owner": N_("owner"), "editor": N_("editor"), "author": N_("author")}
WEB_LINK_REFUSED = {
    "unknown": N_("This sign-in link is not known. Ask the bot for a new one with /web."),
    "used": N_("This sign-in link was already used. Ask the bot for a new one with /web."),
    "expired": N_("This sign-in link has expired. Ask the bot for a new one with /web."),
    "not_admin": N_("This sign-in link belongs to someone who is no longer an admin."),
}
WEB_SIGN_IN_NEEDED = N_(
    "Please sign in: send /web to the bot in Telegram and open the link it gives you."
)
WEB_TOO_MANY = N_("Too many failed sign-ins from your address. Please wait a minute.")
WEB_FORBIDDEN = N_("This form has expired or did not come from the newsroom. Reload and retry.")
WEB_NOT_FOUND = N_("There is nothing here.")
WEB_SIGNED_OUT = N_("You are signed out of the newsroom.")
WEB_OPENING = N_("Opening the newsroom…")
WEB_DASHBOARD_TITLE = N_("The last {days} days")
WEB_CHART_SUBSCRIBERS = N_("Subscribers")
WEB_CHART_MESSAGES = N_("Messages per day")
WEB_CHART_OPENS = N_("Link opens per day")
WEB_TOP_ITEMS = N_("Most opened items")
WEB_WAITING = N_("Waiting now")
WEB_WAITING_KINDS = {
    "pushes": N_("Pushes to send"),
    "corrections": N_("Corrections to send"),
    "digests": N_("Digests to send"),
    "scheduled": N_("Scheduled items"),
}
WEB_DATE = N_("Date")
WEB_TOTAL = N_("Total")
WEB_JOINED = N_("Joined")
WEB_LEFT = N_("Left")
WEB_SENT = N_("Sent")
WEB_PENDING = N_("Pending")
WEB_FAILED = N_("Failed")
WEB_BLOCKED = N_("Blocked")
WEB_OPENS = N_("Opens")
WEB_REACTIONS = N_("Reactions")
WEB_NONE_YET = N_("Nothing yet.")
WEB_SHOW_TABLE = N_("Show the figures")
WEB_ITEMS_TITLE = N_("Items")
WEB_SEARCH = N_("Search")
WEB_SEARCH_HINT = N_('words, "a phrase", -without')
WEB_FILTER = N_("Filter")
# a filter's empty choice, one per filter: French and Spanish agree it with the noun
WEB_ANY_CATEGORY = N_("Any category")
WEB_ANY_LANGUAGE = N_("Any language")
WEB_ANY_STATUS = N_("Any status")
WEB_STATUS = N_("Status")
WEB_STATUSES = {
    "published": N_("published"),
    "scheduled": N_("scheduled"),
    "deleted": N_("deleted"),
}
WEB_NEWER = N_("← Newer")
WEB_OLDER = N_("Older →")
WEB_ITEM_TITLE = N_("Item #{id}")
WEB_ITEM_AS_SHOWN = N_("As readers see it")
WEB_ITEM_REACH = N_("Reach")
WEB_ITEM_LIVE = N_("Updated live while it goes out.")
WEB_CORRECTIONS = N_("Corrections")
WEB_VERSIONS = N_("Versions in other languages")
WEB_EDIT = N_("Save changes")
WEB_EDIT_TITLE = N_("Edit")
WEB_EDITED = N_("Saved: {n} sent message(s) will be corrected.")
WEB_DELETE = N_("Delete")
WEB_DELETE_CONFIRM = N_("Delete this item? Messages already sent will be deleted too.")
WEB_DELETED = N_("Deleted: {n} sent message(s) will be removed.")
WEB_ALREADY_DELETED = N_("This item is deleted.")
WEB_FIELD_TITLE = N_("Title")
WEB_FIELD_CATEGORY = N_("Category")
WEB_FIELD_LINK = N_("Link")
WEB_FIELD_SUMMARY = N_("Summary")
WEB_FIELD_LANGUAGE = N_("Language")
WEB_FIELD_PICTURE = N_("Picture (https address of an image)")
WEB_FIELD_SCHEDULE = N_("Schedule (leave empty to publish now; {tz})")
WEB_PREVIEW = N_("Preview")
WEB_PUBLISH = N_("Publish")
WEB_COMPOSE_TITLE = N_("Compose an item")
WEB_NOT_PUBLISHED = N_("Nothing was published: {problem}")
WEB_PUBLISHED = N_("Published as #{id}. It is going out to subscribers now.")
WEB_SCHEDULED = N_("Scheduled for {when} ({tz}).")
WEB_FEEDS_TITLE = N_("Feeds")
WEB_FEED_ADDRESS = N_("Feed address")
WEB_FEED_ADD = N_("Add the feed")
WEB_FEED_REMOVE = N_("Remove")
WEB_FEED_LAST_POLL = N_("Last read")
WEB_FEED_OUTCOME = N_("Outcome")
WEB_FEED_NEVER = N_("not yet")
WEB_FEED_OK = N_("fine")
WEB_FEED_ADDED = N_("Feed #{id} added.")
WEB_FEED_REMOVED = N_("Feed #{id} removed.")
WEB_FEED_NOT_ADDED = N_("The feed was not added: {problem}")
WEB_AUDIT_TITLE = N_("Who did what")
WEB_AUDIT_WHO = N_("Who")
WEB_AUDIT_WHAT = N_("What")
WEB_AUDIT_WHEN = N_("When")
