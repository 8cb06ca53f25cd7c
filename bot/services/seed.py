"""Sample data: the ILO's "News, stories and statements on cooperatives" page, shipped with
the package (`bot/seed_data/`) so a fresh install has something to show, and its categories'
names in French and Spanish."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from bot.services.categories import CategoryService, checked_names
from bot.services.news import NewsService
from bot.services.validation import ItemDraft, ValidationFailed, clean_summary, clean_title

SEED_FILE = "ilo_cooperatives.json"


@dataclass(frozen=True, slots=True)
class SeedResult:
    added: int
    skipped: int
    source: str


def load_seed_document() -> dict:
    text = resources.files("bot.seed_data").joinpath(SEED_FILE).read_text(encoding="utf-8")
    return json.loads(text)


async def seed(
    news: NewsService, categories: CategoryService, *, only_if_empty: bool = False
) -> SeedResult:
    """Load the sample items; items already there (same title and date) are skipped. Their
    categories get the names they have no name for yet (also when the items are there)."""
    document = load_seed_document()
    if only_if_empty and await news.count_items() > 0:
        await _name_categories(categories, document)
        return SeedResult(0, len(document["items"]), document["source"])
    added = skipped = 0
    # oldest first, so ids grow with dates as they would have in real life
    for entry in reversed(document["items"]):
        published = datetime.fromisoformat(entry["published"]).replace(tzinfo=UTC)
        title = clean_title(entry["title"])
        if await news.has_item(title, published):
            skipped += 1
            continue
        draft = ItemDraft(
            category=entry["category"],
            title=title,
            url=entry.get("url"),
            summary=clean_summary(entry.get("summary")),
        )
        try:
            await news.publish(draft, source="seed", published_at=published, broadcast=False)
        except ValidationFailed:
            skipped += 1
            continue
        added += 1
    await _name_categories(categories, document)
    return SeedResult(added, skipped, document["source"])


async def _name_categories(categories: CategoryService, document: dict) -> None:
    for category, names in document.get("category_names", {}).items():
        await categories.fill_names(category, checked_names(names))
