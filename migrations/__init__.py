"""Alembic migrations. `coopbot db upgrade` (or the bot at start-up) applies them."""
