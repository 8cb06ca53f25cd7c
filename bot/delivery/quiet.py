"""Quiet hours: a chat's window, in its own time zone, during which pushes arrive silently
(`disable_notification`). Nothing is held back: the sender only asks, at each send, whether
the window covers that moment."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_A_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class QuietWindow:
    """From `start` to `end`, minutes after local midnight; start > end wraps midnight
    (22:00-07:00). The end minute itself is no longer quiet."""

    start: int
    end: int
    zone: tzinfo

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@functools.lru_cache(maxsize=512)
def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The IANA zone `name` (None, or a name this system does not know: `default`)."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    raise AssertionError("UTC is always known")


def quiet_window(
    start: int | None, end: int | None, timezone: str | None, default_timezone: str = "UTC"
) -> QuietWindow | None:
    """A chat's window as stored (chats.quiet_start/quiet_end/timezone); None: no quiet
    hours."""
    if start is None or end is None or start == end:
        return None
    return QuietWindow(start % MINUTES_A_DAY, end % MINUTES_A_DAY, zone(timezone, default_timezone))
