"""Co-op News Bot: news from the cooperative movement, announced on Telegram."""

__version__ = "0.1.0"
