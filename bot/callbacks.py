"""Callback data for inline buttons: short, versioned strings (Telegram allows 64 bytes).

The version prefix lets buttons from an older release fail politely ("this button has
expired") instead of doing something unexpected.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

from bot.services.views import Cursor

VERSION = "v1"
MAX_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64
ALL = "a"


class StaleCallback(ValueError):
    """Data that this release did not make: forged, truncated or from an older version."""


@dataclass(frozen=True, slots=True)
class MorePage:
    """ "More" under a list: the next `limit` items after `cursor`, in one category or all."""

    category_id: int | None
    limit: int
    cursor: Cursor


@dataclass(frozen=True, slots=True)
class ShowCategory:
    category_id: int


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def encode(action: MorePage | ShowCategory) -> str:
    if isinstance(action, MorePage):
        scope = ALL if action.category_id is None else str(action.category_id)
        cursor = action.cursor
        return _checked(
            f"{VERSION}:more:{scope}:{action.limit}:{cursor.published_us}:{cursor.item_id}"
        )
    return _checked(f"{VERSION}:cat:{action.category_id}")


def _number(text: str, *, low: int = 0, high: int = 2**63 - 1) -> int:
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise StaleCallback(text)
    value = int(text)
    if not low <= value <= high:
        raise StaleCallback(text)
    return value


def decode(data: str | None, *, max_limit: int) -> MorePage | ShowCategory:
    """Parse callback data made by `encode`; anything else raises StaleCallback."""
    if not data:
        raise StaleCallback("empty")
    parts = data.split(":")
    if parts[0] != VERSION or len(parts) < 3:
        raise StaleCallback(data)
    match parts[1:]:
        case ["more", scope, limit, published_us, item_id]:
            category_id = None if scope == ALL else _number(scope, low=1)
            return MorePage(
                category_id=category_id,
                limit=_number(limit, low=1, high=max_limit),
                cursor=Cursor(_number(published_us, low=-(2**62), high=2**62), _number(item_id)),
            )
        case ["cat", category_id]:
            return ShowCategory(_number(category_id, low=1))
    raise StaleCallback(data)
