"""Advisory locks that more than one layer takes (PostgreSQL; SQLite has one writer at a time,
which orders these transactions already).

`CHAT_ROWS`: a transaction that writes rows for many chats at once from what their settings
say (the fan-out of an item, the digests that fall due, the corrections of an item's sent
messages) holds it shared; /forget holds it alone. Under PostgreSQL's READ COMMITTED an
INSERT … SELECT reads the chats as they were when it began, so without it a fan-out running
while /forget commits could still give the forgotten chat a push. With it, /forget waits for
the ones running (and then deletes what they wrote), and those that start later wait for it
(and then find nothing of the chat).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# an arbitrary one-key lock ("coopchat"); the other one-key locks: the sender's
# (bot.delivery.leader), category names (bot.services.categories)
CHAT_ROWS = 0x636F_6F70_6368_6174


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def writing_for_chats(session: AsyncSession) -> None:
    """This transaction writes rows for many chats from their settings: not while a chat is
    being forgotten (many such transactions may run at once)."""
    if _postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": CHAT_ROWS})


async def forgetting_a_chat(session: AsyncSession) -> None:
    """This transaction erases a chat: alone, once the transactions above have ended."""
    if _postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAT_ROWS})
