"""Every text a user sees, in one place (ready for translation).

Templates that hold data take it already escaped: `render.py` and the handlers escape with
`html.escape` before formatting. Parse mode is HTML throughout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str  # shown in Telegram's menu and in /help (at most 256 chars)
    usage: str = ""
    admin_only: bool = False


# The one list behind /help and the menu button (set_my_commands); order is the menu's order.
COMMANDS: tuple[Command, ...] = (
    Command("latest", "Newest co-op news", "[N]"),
    Command("category", "Browse news by category", "[name]"),
    Command("subscribe", "Get new items here as they are published", "[category | all]"),
    Command("unsubscribe", "Stop getting new items", "[category | all]"),
    Command("subscriptions", "What this chat follows"),
    Command("help", "What this bot can do"),
    Command("start", "Welcome and how to begin"),
    Command("add", "Publish an item (admins)", "Category | Title | https://link | summary", True),
    Command("edit", "Correct a published item (admins)", "[number]", True),
    Command("delete", "Withdraw a published item (admins)", "[number]", True),
    Command("feeds", "RSS/Atom feeds (admins)", "[add URL [category] | remove N]", True),
    Command("stats", "Subscribers, items and deliveries (admins)", "", True),
    Command("admins", "List admins; owners add or remove them", "[add|remove user_id]", True),
    Command("cancel", "Leave the /add or /edit you are in (admins)", "", True),
)

BOT_DESCRIPTION = (
    "News from the cooperative movement: ILO, ICA, COPAC and co-op federations. "
    "Browse the latest items, or by category."
)
BOT_SHORT_DESCRIPTION = "News from the cooperative movement."

WELCOME = (
    "👋 <b>Welcome to Co-op News Bot, {name}!</b>\n\n"
    "I bring you news from the cooperative movement: the ILO, the International Co-operative "
    "Alliance, COPAC and co-op federations.\n\n"
    "• /latest — the newest items\n"
    "• /category — browse by topic\n"
    "• /help — every command\n\n"
    "The menu button (☰) beside the text field lists them too."
)
WELCOME_GROUP = (
    "👋 <b>Co-op News Bot</b> is here. Members can use /latest and /category in this group; "
    "/help lists everything."
)

HELP_HEADER = "<b>Co-op News Bot</b> — news from the cooperative movement.\n"
HELP_LINE = "/{name} {usage}— {description}"
HELP_ADMIN_HEADER = "\n<b>For admins</b>"
HELP_FOOTER = (
    "\nExamples: <code>/latest 10</code>, <code>/category decent work</code>.\n"
    "In groups, commands also work as <code>/latest@{bot_username}</code>."
)

# /latest and /category
LATEST_HEADER = "📰 <b>Latest co-op news</b>"
LATEST_MORE_HEADER = "📰 <b>Older co-op news</b>"
CATEGORY_HEADER = "🗂 <b>{name}</b> · {count}"
CATEGORY_MORE_HEADER = "🗂 <b>{name}</b> · older items"
NO_ITEMS = "There is no news yet. Admins can publish with /add."
NO_ITEMS_IN_CATEGORY = "There are no items in <b>{name}</b> yet."
NO_MORE_ITEMS = "That was the oldest item — there is nothing older."
ITEM_COUNT = {1: "1 item"}
ITEMS_COUNT = "{n} items"
MORE_BUTTON = "More ›"
LATEST_BAD_NUMBER = (
    "Please give a number of items from 1 to {max}, e.g. <code>/latest 10</code>. "
    "Without a number you get the newest {default}."
)
LATEST_CLAMPED = "ℹ️ I show at most {max} items at a time; here are the newest {max}."

CATEGORY_CHOOSE = "🗂 <b>Choose a category</b> (number of items in brackets):"
CATEGORY_NONE = "There are no categories yet. They appear when the first item is published."
CATEGORY_UNKNOWN = "I don't know a category called “{name}”. These are the categories:"
CATEGORY_AMBIGUOUS = "“{name}” matches more than one category. Which one do you mean?"
CATEGORY_NAME_TOO_LONG = "That name is too long for a category (at most {max} characters)."
CATEGORY_BUTTON = "{name} ({count})"

# item cards
ITEM_META = "{date} · {category}"
ITEM_NUMBER = " · #{id}"
DATE_FORMAT = "%d %b %Y"
ELLIPSIS = "…"

# callback buttons
BUTTON_EXPIRED = "This button has expired. Send the command again for fresh results."

# /add
ADD_USAGE = (
    "To publish an item, send one line:\n"
    "<code>/add Category | Title | https://link | optional summary</code>\n\n"
    "Example:\n<code>/add News | ICA elects new board | https://ica.coop/en/news | "
    "Delegates met in Seville.</code>"
)
ADD_NOT_ALLOWED = "Sorry, only the bot's admins can publish items."
ADD_DONE = "✅ Published as <b>#{id}</b>. This is how readers see it:"
ADD_DONE_NEW_CATEGORY = (
    "✅ Published as <b>#{id}</b> in the new category <b>{category}</b>. "
    "This is how readers see it:"
)
ADD_PROBLEM = "⚠️ Nothing was published: {problem}\n\n" + ADD_USAGE
PROBLEMS = {
    "missing_parts": (
        "I need at least a category, a title and a link, separated by <code>|</code>."
    ),
    "empty_category": "the category is empty.",
    "category_too_long": "the category name is {length} characters long; the limit is {max}.",
    "empty_title": "the title is empty.",
    "title_too_long": "the title is {length} characters long; the limit is {max}.",
    "summary_too_long": "the summary is {length} characters long; the limit is {max}.",
    "bad_url": "the link must be a full web address starting with http:// or https://.",
    "url_too_long": "the link is {length} characters long; the limit is {max}.",
}
ADD_DUPLICATE = "⚠️ Nothing was published: that link is already stored as <b>#{id}</b>:"

# fallbacks and errors
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
PLAIN_TEXT_HINT = (
    "I'm a news bot, so I don't chat — but try /latest for the newest items, "
    "/category to browse, or /help for everything."
)
EDITED_MESSAGE_HINT = "I only read new messages. Please send the command again."
INTERNAL_ERROR = "😕 Sorry, something went wrong on my side. Please try again in a moment."
STORE_UNAVAILABLE = "😕 The news store is unavailable right now. Please try again in a minute."

# sandbox (terminal)
SANDBOX_BANNER = (
    "Co-op News Bot sandbox — an offline Telegram chat with the real bot.\n"
    "You are {first_name} (user id {user_id}, an admin). Type a message or a command;\n"
    "press an inline button by typing its number in brackets, e.g. [1]. /quit leaves.\n"
)
SANDBOX_BYE = "Bye!"
SANDBOX_NO_BUTTON = "(there is no button [{number}])"
SANDBOX_BUTTON_GONE = "(button [{number}] is no longer on its message)"
SANDBOX_BUTTONS_CHANGED = "bot ✎: (changed the buttons of an earlier message)"


def item_count(n: int) -> str:
    return ITEM_COUNT.get(n, ITEMS_COUNT.format(n=n))


# --- Publishing: admins, guided /add, scheduling, /stats, corrections ---------------------------

# refusals: one polite answer, nothing changes
NOT_ADMIN = "Sorry, this command is only for the bot's admins."
NOT_OWNER = "Sorry, only the bot's owners can add or remove admins."

# /admins
ADMINS_HEADER = "👥 <b>Admins</b>"
ADMINS_OWNER_LINE = "• <code>{user_id}</code> — owner"
ADMINS_LINE = "• <code>{user_id}</code> — added by <code>{added_by}</code> on {date}"
ADMINS_USAGE = (
    "Owners manage admins by numeric Telegram user id (usernames are not accepted):\n"
    "<code>/admins add 123456789</code> — or reply to someone's message with "
    "<code>/admins add</code>\n"
    "<code>/admins remove 123456789</code>"
)
ADMINS_BAD_ID = "“{text}” is not a numeric Telegram user id.\n\n" + ADMINS_USAGE
ADMIN_ADDED = "✅ <code>{user_id}</code> is now an admin."
ADMIN_ALREADY = "<code>{user_id}</code> is already an admin; nothing changed."
ADMIN_IS_OWNER = "<code>{user_id}</code> is an owner and always an admin; nothing changed."
ADMIN_REMOVED = "✅ <code>{user_id}</code> is no longer an admin."
ADMIN_NOT_FOUND = "<code>{user_id}</code> is not an admin; nothing changed."
ADMIN_OWNER_FIXED = (
    "<code>{user_id}</code> is an owner. Owners are set with ADMIN_IDS in the bot's settings, "
    "not with /admins; nothing changed."
)

# guided /add
ADD_ASK_TITLE = (
    "📝 <b>New item</b> — step 1 of 4\nSend the <b>title</b>.\n\n"
    "<i>/cancel stops at any step. For a one-line /add, see /help.</i>"
)
ADD_ASK_CATEGORY = "Step 2 of 4: choose the <b>category</b>, or type the name of a new one."
ADD_ASK_CATEGORY_NONE = "Step 2 of 4: type the name of the <b>category</b> (there are none yet)."
ADD_ASK_LINK = "Step 3 of 4: send the <b>link</b> (https://…), or press Skip."
ADD_ASK_SUMMARY = "Step 4 of 4: send a short <b>summary</b>, or press Skip."
ADD_ASK_AGAIN = "⚠️ Not quite: {problem}\nPlease send it again, or /cancel."
ADD_LINK_TAKEN = (
    "⚠️ That link is already stored as <b>#{id}</b>. Send another link, press Skip, or /cancel."
)
ADD_USE_BUTTONS = "Please use the buttons under the preview, or send /cancel."
ADD_PREVIEW = "👀 <b>Preview</b> — this is exactly how subscribers will see it:"
ADD_EDIT_WHICH = "✏️ What do you want to change?"
ADD_ASK_NEW = {
    "title": "Send the new <b>title</b>.",
    "category": "Choose the new <b>category</b>, or type the name of a new one.",
    "url": "Send the new <b>link</b>, or press Skip to have none.",
    "summary": "Send the new <b>summary</b>, or press Skip to have none.",
}
FIELD_NAMES = {"title": "Title", "category": "Category", "url": "Link", "summary": "Summary"}
BUTTON_PUBLISH = "✅ Publish now"
BUTTON_SCHEDULE = "🕒 Schedule"
BUTTON_EDIT = "✏️ Edit"
BUTTON_CANCEL = "✖️ Cancel"
BUTTON_SKIP = "Skip ›"
BUTTON_SAVE = "💾 Save"
ADD_PUBLISHED = "✅ Published as <b>#{id}</b>."
ADD_PUBLISHED_NEW_CATEGORY = "✅ Published as <b>#{id}</b> in the new category <b>{category}</b>."
ADD_CANCELLED = "✖️ Cancelled. Nothing was published."
CANCEL_NOTHING = "There is nothing to cancel."
DRAFT_EXPIRED = (
    "⌛ Your unfinished draft was left for more than {hours} hours, so it has expired. "
    "Nothing was published or changed. Send /add or /edit to start again."
)
FLOW_PRIVATE_ONLY = "Please send /{command} to me in a private chat."

# scheduling
ADD_ASK_WHEN = (
    "🕒 When should it go out? Send the date and time in the bot's timezone ({tz}) as "
    "<code>YYYY-MM-DD HH:MM</code>, e.g. <code>{example}</code>."
)
WHEN_PROBLEMS = {
    "format": "please write the date and time as <code>YYYY-MM-DD HH:MM</code>.",
    "no_such_date": "there is no such date or time.",
    "no_such_time": "that time does not exist in {tz} (the clocks skip it).",
    "past": "that moment has already passed in {tz} (it is now {now}).",
}
ADD_SCHEDULED = "🕒 Scheduled for <b>{when}</b> ({tz}). I will publish it then and tell you here."
SCHEDULED_PUBLISHED = "✅ Your scheduled item is out: published as <b>#{id}</b>."
SCHEDULED_FAILED = "⚠️ Your scheduled item “{title}” was not published: {problem}"
WHEN_FORMAT_SHOWN = "%Y-%m-%d %H:%M"

# one-line and guided /add: a link stored before
PROBLEM_DUPLICATE = "that link is already stored as #{id}."

# /stats
STATS_HEADER = "📊 <b>Statistics</b>"
STATS_SUBSCRIBERS = "\n<b>Subscribers per category</b>"
STATS_ALL_CATEGORIES = "All categories"
STATS_ITEMS = "\n<b>Items per category</b>"
STATS_LINE = "• {name}: {count}"
STATS_NONE = "• none yet"
STATS_DELIVERIES = (
    "\n<b>Deliveries today</b> (since 00:00 {tz})\n"
    "• sent: {sent}\n• failed: {failed}\n• pending: {pending}"
)
STATS_ACTIVE_CHATS = "\n<b>Chats</b>: {active} active, {inactive} gone (blocked or left)"

# the report after a broadcast
BROADCAST_REPORT = (
    "📬 <b>#{id} delivered</b> — {title}\n"
    "• sent: {sent}\n• blocked: {blocked}\n• failed: {failed}\n• time taken: {took}"
)
DURATION_SECONDS = "{s} s"
DURATION_MINUTES = "{m} min {s} s"
DURATION_HOURS = "{h} h {m} min"

# /edit and /delete
CORRECT_LIST_HEADER = "🔢 <b>The last {n} items</b> — send <code>/{command} NUMBER</code>:"
CORRECT_LIST_LINE = "<b>#{id}</b> · {date} · {title}"
CORRECT_NO_ITEMS = "There are no items to {command} yet."
CORRECT_BAD_NUMBER = (
    "“{text}” is not an item number. Send <code>/{command} 12</code>, or just "
    "<code>/{command}</code> to see the last ten items with their numbers."
)
CORRECT_UNKNOWN = (
    "There is no item <b>#{id}</b> (it may have been deleted). Send <code>/{command}</code> "
    "to see the last ten items with their numbers."
)
EDIT_WHICH = "✏️ <b>Editing #{id}</b> — what do you want to change?"
EDIT_PREVIEW = "👀 <b>#{id} after your change</b> — Save to apply it:"
EDIT_SAVED = "💾 Saved #{id}. Sent messages updated: {updated} of {total}."
EDIT_SAVED_FAILED = " Not updated (chat gone or message deleted): {failed}."
EDIT_NOTHING = (
    "That is the value it already has; nothing to change. Send a different one, or /cancel."
)
EDIT_CANCELLED = "✖️ Cancelled. #{id} is unchanged."
DELETE_CONFIRM = (
    "🗑 Delete this item? It leaves every listing, and the messages sent for it are retracted."
)
BUTTON_DELETE = "🗑 Yes, delete"
BUTTON_KEEP = "Keep it"
DELETE_DONE = (
    "🗑 Deleted #{id}. Messages retracted: {deleted}. Pending deliveries cancelled: {cancelled}."
)
DELETE_TOO_OLD = (
    " {old} sent more than 48 hours ago could not be retracted (Telegram allows deleting "
    "only for 48 hours); they stay in those chats."
)
DELETE_FAILED = " Could not retract {failed} (chat gone or message already deleted)."
DELETE_KEPT = "Kept #{id}; nothing changed."


# --- Feeds: /feeds for admins, and what admins hear from the poller ----------------------------

FEEDS_USAGE = (
    "📡 <b>Feeds</b> bring in items from the RSS and Atom feeds of co-op organisations.\n"
    "• <code>/feeds</code> — list the feeds\n"
    "• <code>/feeds add https://example.coop/feed.xml [category]</code> — subscribe; "
    "without a category each entry goes to its own category if that exists, else to "
    "<b>{default}</b>\n"
    "• <code>/feeds remove 3</code> — unsubscribe from feed #3 (its items stay)"
)
FEEDS_NOT_ALLOWED = "Sorry, only the bot's admins can manage feeds."
FEEDS_NONE = (
    "There are no feeds yet. Add one with <code>/feeds add https://example.coop/feed.xml</code>."
)
FEEDS_HEADER = "📡 <b>Feeds</b> · checked every {minutes} min"
FEEDS_LINE = "<b>#{id}</b> {title}\n{url}\n🗂 {category}{status}"
FEEDS_OWN_CATEGORY = "the entries' own categories"
FEEDS_NEVER_READ = " · not read yet"
FEEDS_BROKEN = " · ⚠️ {reason}"
FEEDS_MORE = "…and {n} more."
FEEDS_FOOTER = "Remove one with <code>/feeds remove &lt;number&gt;</code>."
FEEDS_ADDED = "✅ Subscribed to <b>{title}</b> as feed <b>#{id}</b> ({entries} in it now)."
FEEDS_ADDED_IMPORTED = (
    "The newest {imported} are in /latest; they are not sent to subscribers, being old news. "
    "New entries will be published and sent as they appear (checked every {minutes} min)."
)
FEEDS_ADDED_NOTHING = (
    "New entries will be published and sent as they appear (checked every {minutes} min)."
)
FEEDS_ENTRY_COUNT = {0: "no entries", 1: "1 entry"}
FEEDS_ENTRIES_COUNT = "{n} entries"
FEEDS_ADD_FAILED = "⚠️ I could not add that feed: {reason}"
FEEDS_ADD_PROBLEMS = {
    "bad_url": "the address must be a full web address starting with http:// or https://.",
    "already_subscribed": "it is already feed <b>#{id}</b>.",
    "bad_category": "the category must be 1 to {max} characters long.",
}
FEED_ERRORS = {
    "http_status": "the server answered with HTTP status {detail}.",
    "too_big": "the file is larger than the {max_mb} MB limit.",
    "timeout": "the server did not answer within {seconds} seconds.",
    "unreachable": "the server could not be reached ({detail}).",
    "not_a_feed": "the address does not hold an RSS or Atom feed.",
}
FEEDS_REMOVE_USAGE = (
    "Which feed? Send <code>/feeds remove &lt;number&gt;</code>; /feeds lists the numbers."
)
FEEDS_UNKNOWN = "There is no feed #{id}. /feeds lists them."
FEEDS_REMOVED = "🗑 Feed <b>#{id}</b> ({title}) is removed. The items it brought stay."
FEED_BROKEN_ALERT = (
    "⚠️ Feed <b>#{id}</b> {title} is not working: {reason}\n"
    "I keep trying, less often, and will tell you once when it works again."
)
FEED_RECOVERED_ALERT = "✅ Feed <b>#{id}</b> {title} works again."


def feed_entry_count(n: int) -> str:
    return FEEDS_ENTRY_COUNT.get(n, FEEDS_ENTRIES_COUNT.format(n=n))


# coopbot import / export / feeds import: a terminal, so plain text. Validation problems
# reuse PROBLEMS above (tags removed).
IMPORT_PROBLEMS = {
    "bad_json": "not valid JSON here; the rest of the file was not read.",
    "bad_csv_header": (
        "the first line must name the columns category,title,url,summary,published "
        "(missing: {missing})."
    ),
    "not_an_object": "each item must be an object with category, title, url, summary, published.",
    "bad_date": "“{value}” is not an ISO 8601 date like 2026-11-25 or 2026-11-25T10:00:00+01:00.",
    "bad_field": "{column} must be text.",
    "bad_opml": "not valid OPML (XML) here; the rest of the file was not read.",
    "no_feed_url": "the feed “{name}” has no xmlUrl address.",
    "bad_feed_url": "the feed address {url} must start with http:// or https://.",
    "bad_feed_category": "the folder name is not a usable category (1 to {max} characters).",
}
IMPORT_PROBLEM_LINE = "{file}:{line}: {problem}"


# subscriptions (/subscribe, /unsubscribe, /subscriptions) and pushed items
SUBSCRIBE_CHOOSE = (
    "🔔 <b>Subscriptions</b> — tap a category to follow it or stop; ✅ marks what this chat "
    "gets as soon as it is published."
)
SUBSCRIBE_NO_CATEGORIES = (
    "There are no categories yet. You can still follow everything with <code>/subscribe all</code>."
)
SUBSCRIBE_BUTTON = "{mark}{name}"
SUBSCRIBE_ALL_BUTTON = "{mark}All categories"
SUBSCRIBE_CHECK = "✅ "
SUBSCRIBE_DONE_BUTTON = "Done"
SUBSCRIBED = "🔔 Subscribed: new items in <b>{name}</b> will arrive here."
SUBSCRIBED_ALL = "🔔 Subscribed to <b>all categories</b>: every new item will arrive here."
ALREADY_SUBSCRIBED = "This chat already follows <b>{name}</b>."
ALREADY_SUBSCRIBED_ALL = "This chat already follows <b>all categories</b>."
UNSUBSCRIBED = "🔕 Unsubscribed from <b>{name}</b>."
UNSUBSCRIBED_ALL = "🔕 Unsubscribed from everything. Nothing more will be pushed here."
NOT_SUBSCRIBED = "This chat does not follow <b>{name}</b>. /subscriptions shows what it follows."
NOT_SUBSCRIBED_ANY = "This chat follows nothing, so there is nothing to stop."
UNSUBSCRIBE_CHOOSE = "🔕 <b>Stop a subscription</b> — tap ✅ to stop it:"
SUBSCRIPTIONS_NONE = "This chat follows nothing yet. /subscribe to choose categories."
SUBSCRIPTIONS_ALL = "🔔 This chat follows <b>all categories</b>."
SUBSCRIPTIONS_LIST = "🔔 This chat follows:\n{lines}"
SUBSCRIPTIONS_LINE = "• {name}"
SUBSCRIPTIONS_FOOTER = "\n/subscribe to change, /unsubscribe all to stop everything."
SUBSCRIBE_ADMINS_ONLY = (
    "Sorry, only this group's administrators can change what it is subscribed to."
)
SUBSCRIBE_ADMINS_ONLY_ALERT = "Only the group's administrators can change its subscriptions."
SUBSCRIBE_NAME_TOO_LONG = "That name is too long for a category (at most {max} characters)."
SUBSCRIBE_UNKNOWN = "I don't know a category called “{name}”. Tap one below:"
SUBSCRIBE_AMBIGUOUS = "“{name}” matches more than one category. Tap the one you mean:"
SUBSCRIBE_TOGGLED_ON = "Following {name}"
SUBSCRIBE_TOGGLED_OFF = "Stopped {name}"
SUBSCRIBE_ALL_NAME = "all categories"
SUBSCRIBE_CHANNEL_DONE = "Channel <b>{title}</b>: {result}"
SUBSCRIBE_CHANNEL_UNKNOWN = (
    "I cannot reach the chat <code>{chat}</code>. Add me to the channel as an administrator "
    "first, then try again."
)
SUBSCRIBE_CHANNEL_NOT_ALLOWED = "Only the bot's admins can manage another chat's subscriptions."
DELIVERY_FOOTER = "<i>🔔 Subscribed news · /subscriptions to manage · /unsubscribe to stop</i>"

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
