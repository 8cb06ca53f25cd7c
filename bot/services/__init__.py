"""Services: the bot's behaviour over the database. They own their transactions, know nothing
of telegram.ext, and return small frozen dataclasses (see `views`)."""
