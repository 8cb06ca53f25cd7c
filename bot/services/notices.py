"""The desk's notices: one message to one chat, queued in the caller's transaction and sent
by the delivery kernel (`bot.delivery.kinds.notices`), so a notice is sent once, after its
cause commits, and never lost. The caller renders the text in the recipient's language.

    async with sessions.begin() as session:
        ...                                   # the change that calls for a notice
        queue_notice(session, chat_id, html, buttons)
    notices.committed()                       # after the commit: the sender starts on it now

A notice queued in a transaction that rolls back is never sent; one whose `committed()` is
never called (another process queued it, or the call was forgotten) goes out at the
sender's next poll (DELIVERY_POLL_SECONDS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Notice

# one button: {"text": …, "callback_data": …} or {"text": …, "url": …}
Button = dict[str, str]


def queue_notice(
    session: AsyncSession,
    chat_id: int,
    html: str,
    buttons: Sequence[Sequence[Button]] | None = None,
) -> Notice:
    """Queue `html` (Telegram HTML, at most 4096 characters) for `chat_id`."""
    notice = Notice(
        chat_id=chat_id,
        html=html,
        buttons=[list(row) for row in buttons] if buttons else None,
    )
    session.add(notice)
    return notice


class NoticeQueue:
    """What the services that queue notices tell after their commit, and whom it concerns
    (the composition root hooks the sender to it): services never call the sender."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def on_committed(self, listener: Callable[[], None]) -> None:
        """Call `listener` after a transaction that queued notices has committed."""
        self._listeners.append(listener)

    def committed(self) -> None:
        """A transaction that queued notices has just committed. Call it after the commit,
        never inside the transaction: the sender could look before the rows are there."""
        for listener in self._listeners:
            listener()
