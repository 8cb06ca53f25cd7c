"""What a DML statement's result tells that SQLAlchemy's types do not."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (-1 where the driver cannot tell).

    `AsyncSession.execute` is typed to return a plain `Result`, though for DML it is always a
    `CursorResult`, the one kind that carries the count.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} carries no row count (not a DML result)")
    return result.rowcount
