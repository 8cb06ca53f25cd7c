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
    admin_only: bool = False


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
        "add", N_("Publish an item (admins)"), N_("Category | Title | https://link | summary"), True
    ),
    Command("edit", N_("Correct a published item (admins)"), N_("[number]"), True),
    Command("delete", N_("Withdraw a published item (admins)"), N_("[number]"), True),
    Command("feeds", N_("RSS/Atom feeds (admins)"), N_("[add URL [category] | remove N]"), True),
    Command("stats", N_("Subscribers, items and deliveries (admins)"), "", True),
    Command(
        "admins", N_("List admins; owners add or remove them"), N_("[add|remove user_id]"), True
    ),
    Command("cancel", N_("Leave the /add or /edit you are in (admins)"), "", True),
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
HELP_ADMIN_HEADER = N_("\n<b>For admins</b>")
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
ADD_NOT_ALLOWED = N_("Sorry, only the bot's admins can publish items.")
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
SANDBOX_NO_BUTTON = N_("(there is no button [{number}])")
SANDBOX_BUTTON_GONE = N_("(button [{number}] is no longer on its message)")
SANDBOX_BUTTONS_CHANGED = N_("bot ✎: (changed the buttons of an earlier message)")


# --- Publishing: admins, guided /add, scheduling, /stats, corrections ---------------------------

# refusals: one polite answer, nothing changes
NOT_ADMIN = N_("Sorry, this command is only for the bot's admins.")
NOT_OWNER = N_("Sorry, only the bot's owners can add or remove admins.")

# /admins
ADMINS_HEADER = N_("👥 <b>Admins</b>")
ADMINS_OWNER_LINE = N_("• <code>{user_id}</code> — owner")
ADMINS_LINE = N_("• <code>{user_id}</code> — added by <code>{added_by}</code> on {date}")
ADMINS_USAGE = N_(
    "Owners manage admins by numeric Telegram user id (usernames are not accepted):\n"
    "<code>/admins add 123456789</code> — or reply to someone's message with "
    "<code>/admins add</code>\n"
    "<code>/admins remove 123456789</code>"
)
# followed by ADMINS_USAGE
ADMINS_BAD_ID = N_("“{text}” is not a numeric Telegram user id.")
ADMIN_ADDED = N_("✅ <code>{user_id}</code> is now an admin.")
ADMIN_ALREADY = N_("<code>{user_id}</code> is already an admin; nothing changed.")
ADMIN_IS_OWNER = N_("<code>{user_id}</code> is an owner and always an admin; nothing changed.")
ADMIN_REMOVED = N_("✅ <code>{user_id}</code> is no longer an admin.")
ADMIN_NOT_FOUND = N_("<code>{user_id}</code> is not an admin; nothing changed.")
ADMIN_OWNER_FIXED = N_(
    "<code>{user_id}</code> is an owner. Owners are set with ADMIN_IDS in the bot's settings, "
    "not with /admins; nothing changed."
)

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
    "“{text}” is not an item number. Send <code>/{command} 12</code>, or just "
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
    "• <code>/feeds remove 3</code> — unsubscribe from feed #3 (its items stay)"
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
    "bad_opml": ("not valid OPML (XML) here; the rest of the file was not read."),
    "no_feed_url": ("the feed “{name}” has no xmlUrl address."),
    "bad_feed_url": ("the feed address {url} must start with http:// or https://."),
    "bad_feed_category": ("the folder name is not a usable category (1 to {max} characters)."),
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
    "<code>/search housing cooperatives</code> — items with both words\n"
    '<code>/search "fair trade"</code> — this exact phrase\n'
    "<code>/search coffee -brazil</code> — leave out items with a word\n"
    "<code>/search kenya or ghana</code> — either word\n\n"
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
