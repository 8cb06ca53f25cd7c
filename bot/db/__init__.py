"""Database layer: models, engine and migrations. Only `bot` services import this."""
