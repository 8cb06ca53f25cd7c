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
    Command("help", "What this bot can do"),
    Command("start", "Welcome and how to begin"),
    Command("add", "Publish an item (admins)", "Category | Title | https://link | summary", True),
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


def item_count(n: int) -> str:
    return ITEM_COUNT.get(n, ITEMS_COUNT.format(n=n))
