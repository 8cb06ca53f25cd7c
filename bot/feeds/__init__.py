"""RSS/Atom feeds: fetching (`fetcher`) and turning documents into entries (`parser`).

Nothing here touches the database or Telegram; `bot.services.feeds` and
`bot.services.feed_poller` put it to work.
"""
