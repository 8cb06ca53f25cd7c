"""A short-lived cache of listings: the hottest reads (/latest, /category, /queue's first
page), cleared by the changes that make them stale."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

V = TypeVar("V")


class ListingCache(Generic[V]):
    """Recent reads of one kind of listing (/latest, /category, category pages; /queue's
    first page), kept for a few seconds.

    These are the hottest reads by far (everyone taps /latest after a push), and they change
    only when items are published, corrected or withdrawn (drafts submitted or decided). Changes
    made in this process clear the cache at once (`NewsService.invalidate`,
    `ReviewService.invalidate`); on PostgreSQL, changes made by any process
    clear it when their notification arrives (`bot.services.invalidation`), and the cache is
    off while notifications cannot be relied on. Otherwise (SQLite's CLI) they show after at
    most `seconds`. One cache per kind of listing, so each hands back what it holds, typed.
    """

    MAX_ENTRIES = 2048

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[tuple, tuple[float, V]] = {}
        self.enabled = True
        # bumped by every clear: a read that started before a clear must not be kept, as it
        # may predate the change that caused the clear
        self.generation = 0

    def get(self, key: tuple) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple, value: V, generation: int) -> None:
        if self._seconds <= 0 or not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._seconds, value)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
