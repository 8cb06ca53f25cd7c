"""The review queue's words for a draft and what became of it: the views the review service
returns (`bot.services.review`), the decisions and their outcomes, and the draft's fields as
the queue stores them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot import i18n
from bot.db.models.desk import APPROVED as APPROVED  # the states, for handlers and texts
from bot.db.models.desk import CHANGES as CHANGES
from bot.db.models.desk import NOTE_MAX as NOTE_MAX
from bot.db.models.desk import REJECTED as REJECTED
from bot.db.models.desk import WAITING as WAITING
from bot.services.notices import Button
from bot.services.validation import ItemDraft
from bot.services.views import ItemView


class Decision(enum.StrEnum):
    APPROVE = "approve"
    CHANGES = "changes"
    REJECT = "reject"


STATE_OF = {Decision.APPROVE: APPROVED, Decision.CHANGES: CHANGES, Decision.REJECT: REJECTED}
# what the audit log calls each decision
ACTIONS = {
    Decision.APPROVE: "approve",
    Decision.CHANGES: "request_changes",
    Decision.REJECT: "reject",
}


@dataclass(frozen=True, slots=True)
class SubmissionView:
    id: int
    origin: str  # BY_AUTHOR or FROM_FEED
    author_id: int | None
    feed_id: int | None
    state: str
    revision: int
    draft: ItemDraft
    publish_at: datetime | None
    submitted_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None
    note: str | None = None
    item_id: int | None = None
    scheduled_id: int | None = None

    @property
    def decided(self) -> bool:
        return self.state in (APPROVED, REJECTED)


class Outcome(enum.Enum):
    DONE = "done"
    ALREADY_DECIDED = "already_decided"  # another editor (or this one) acted first
    STALE = "stale"  # resubmitted since the button was made
    UNKNOWN = "unknown"
    OWN_DRAFT = "own_draft"  # an editor deciding on their own draft
    NOTE_NEEDED = "note_needed"
    NOTE_TOO_LONG = "note_too_long"
    LINK_TAKEN = "link_taken"  # an item with that link was published meanwhile
    NOT_YOURS = "not_yours"  # an author resubmitting someone else's draft
    NOT_EDITABLE = "not_editable"  # approved or rejected: nothing to resubmit


@dataclass(frozen=True, slots=True)
class Decided:
    outcome: Outcome
    submission: SubmissionView | None = None
    item: ItemView | None = None  # the item published (or the one holding the link)


@dataclass(frozen=True, slots=True)
class QueuePage:
    submissions: tuple[SubmissionView, ...]
    total: int  # waiting in all (first page only; -1 on later pages)


class DeskTexts(Protocol):
    """The words of the desk's notices, in the current language (`bot.i18n.speaking`)."""

    def for_editor(self, submission: SubmissionView) -> tuple[str, list[list[Button]]]: ...

    def for_author(self, submission: SubmissionView, item: ItemView | None) -> str: ...


def fields_of(draft: ItemDraft) -> dict[str, Any]:
    return {
        "category": draft.category,
        "title": draft.title,
        "url": draft.url,
        "summary": draft.summary,
        "language": draft.language,
        "image_url": draft.image_url,
        "image_file_id": draft.image_file_id,
    }


def draft_of(fields: dict[str, Any]) -> ItemDraft:
    return ItemDraft(
        category=fields["category"],
        title=fields["title"],
        url=fields.get("url"),
        summary=fields.get("summary"),
        language=fields.get("language") or i18n.ENGLISH,
        image_url=fields.get("image_url"),
        image_file_id=fields.get("image_file_id"),
    )


def view_of(row: Any) -> SubmissionView:
    """A `Submission`, or a row of its table's columns."""
    return SubmissionView(
        id=row.id,
        origin=row.origin,
        author_id=row.author_id,
        feed_id=row.feed_id,
        state=row.state,
        revision=row.revision,
        draft=draft_of(row.fields),
        publish_at=row.publish_at,
        submitted_at=row.submitted_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        item_id=row.item_id,
        scheduled_id=row.scheduled_id,
    )
