"""2,000 subscribers on a network that fails at random: every live one gets exactly one copy."""

from __future__ import annotations

import random
from dataclasses import replace

from sqlalchemy import func, select

from bot.db.models import Chat, Delivery
from testbed.delivery_kit import (
    FAST,
    add_subscribers,
    delivery_harness,
    drain,
    engine,
    publish,
    register_chats,
    sessions,
)

SUBSCRIBERS = 2_000


async def test_two_thousand_subscribers_with_random_faults(database_url: str) -> None:
    # a send waits up to 2 s: on a busy machine the in-process emulator can take longer than
    # FAST's 0.5 s for an ordinary answer, and ten such timeouts in a row would mark a healthy
    # chat failed; the injected timeouts hang longer than that, so they still time out
    options = replace(FAST, concurrency=64, max_attempts=10, backoff_seconds=0.02, send_timeout=2.0)
    async with delivery_harness(database_url, options, delivery_poll_seconds=0.1) as harness:
        emu = harness.emu
        rng = random.Random(20261128)
        chats = [1_000_000 + n for n in range(SUBSCRIBERS)]
        blocked = set(rng.sample(chats, 100))
        register_chats(emu, chats)
        await add_subscribers(sessions(harness), chats)
        emu.faults.seed(3)
        for chat_id in sorted(blocked):
            (emu.faults.block if chat_id % 2 else emu.faults.deactivate)(chat_id)
        emu.faults.server_error(probability=0.05, status=502)
        emu.faults.server_error(probability=0.03, status=500)
        # the send did not happen; timeouts where Telegram did deliver are the one case
        # where a duplicate cannot be avoided (there is no idempotency key)
        emu.faults.timeout(probability=0.02, seconds=2.5, delivered=False)
        emu.faults.drop_connection(probability=0.02, delivered=False)

        item = await publish(harness)
        await drain(harness, timeout=90)

        copies = [len(emu.messages(c)) for c in chats]
        assert [c for c, n in zip(chats, copies, strict=True) if n != (c not in blocked)] == []
        assert sum(copies) == SUBSCRIBERS - len(blocked)
        stats = engine(harness).stats
        assert stats.retries > 50  # the faults really fired
        assert stats.sent == SUBSCRIBERS - len(blocked)
        assert stats.cancelled == len(blocked)
        async with sessions(harness)() as session:
            by_status = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count())
                        .where(Delivery.item_id == item.id)
                        .group_by(Delivery.status)
                    )
                ).all()
            )
            inactive = set(await session.scalars(select(Chat.id).where(Chat.active.is_(False))))
        assert by_status == {"sent": SUBSCRIBERS - len(blocked), "cancelled": len(blocked)}
        assert inactive == blocked
