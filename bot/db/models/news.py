"""News items and the categories they are filed under."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, BigIntId, UTCDateTime, utcnow

TITLE_MAX = 256
SUMMARY_MAX = 1000
CATEGORY_NAME_MAX = 64
URL_MAX = 2048
FILE_ID_MAX = 256
IMAGE_ERROR_MAX = 200
LANGUAGE_MAX = 8


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX))
    # the name folded (single spaces, case and accents ignored): the unique key, so "News",
    # "news" and "Néws" are one category (`bot.services.news.category_key`)
    name_key: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX * 2), unique=True)
    # kept in step with items by the service that adds or removes them, so the
    # /category keyboard never counts a million rows
    item_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # its names in the readers' languages, {"fr": "Travail décent", …}: a read copy of its
    # `category_names` rows, written with them, so that whatever shows a category (listings,
    # pushes, digests, searches) reads its names with its name, without a join
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")


class CategoryName(Base):
    """A category's name in one language: what readers of that language see, and one more
    name `/category` and `/subscribe` know it by. No two categories share a name."""

    __tablename__ = "category_names"

    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX), primary_key=True)
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX))
    # folded like `Category.name_key`; not unique: a category may have one name in two
    # languages ("Agriculture"), and the service keeps other categories off it
    name_key: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX * 2), index=True)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        # keyset pagination for /latest and per category: newest first, id breaks ties
        Index("ix_items_published", "published_at", "id"),
        Index("ix_items_category_published", "category_id", "published_at", "id"),
        # the versions of a story, found from its original
        Index("ix_items_story_id", "story_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(URL_MAX), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # where the item came from: "admin:<user id>", "seed", "import", "feed:<id>"
    source: Mapped[str | None] = mapped_column(String(200))
    # set by /delete: the item leaves every listing but stays for the audit log
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # bumped by every edit and by the deletion: a message rendered from an older revision is
    # out of date, however the correction and the delivery raced
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # the language the item is written in (ISO 639-1), whatever the readers' interface
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX), default="en", server_default="en")
    # the item's picture: an https URL Telegram fetches itself, and/or the file_id Telegram
    # gave for it (an admin's photo has only the file_id; a URL gets one after its first send,
    # so every later chat reuses the uploaded file instead of another fetch)
    image_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    image_file_id: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    # why Telegram refused the picture (a dead URL, a wrong file_id, no image): set once by the
    # sender, which then sends the item as text; cleared when the picture changes. The report
    # job tells the admin once, and stamps `image_error_reported_at`
    image_error: Mapped[str | None] = mapped_column(String(IMAGE_ERROR_MAX))
    image_error_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # stories (migration 0012): a version of another item, in another language, points at the
    # story's original (never at another version); None for an original. The original says
    # whether it has versions, so the many stories without any skip the search for them
    story_id: Mapped[int | None] = mapped_column(BigIntId)
    has_versions: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    category: Mapped[Category] = relationship(lazy="raise")

    @property
    def story(self) -> int:
        """The id of the story's original (this item's own id for an original)."""
        return self.story_id if self.story_id is not None else self.id
