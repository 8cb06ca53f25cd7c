"""Failures of the store itself (the database is down, a connection dropped), as one tuple,
so the layers above can answer "try again later" without knowing the driver's exceptions."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (OperationalError, DBAPIError, OSError)
