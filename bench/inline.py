"""The inline answer speed check: what `@bot …` costs against a /latest in the same run.

The archive is bulk-loaded into SQLite (as `bench.latency` does; the search index follows by
its triggers), the bot runs as its own process on the emulator, and each request's time runs
from the update being handed out (getUpdates) to the bot's answer arriving (answerInlineQuery
or sendMessage received). Queries: empty (the latest items), one common word, two words, a
rare word, and the second page of a common word (a search cursor).

    python -m bench.inline [--items 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Callable

from bench.latency import TOKEN, USER, _pct, _start, _stop, _wait_ready, loaded_database
from emulator import BotApiEmulator


async def _latest(emu: BotApiEmulator, requests: int, gap: float) -> list[float]:
    samples = []
    for _ in range(requests):
        await asyncio.sleep(gap)
        before = len(emu.messages(USER))
        emu.send_message("/latest", user_id=USER, first_name="Bench")
        update_id = emu.last_update_id
        await emu.wait_for(lambda b=before: len(emu.messages(USER)) > b, 10)
        reply = emu.messages(USER)[before]
        samples.append((reply.received_at - emu.update_handed_out_at[update_id]) * 1000)
    return samples


async def _inline(
    emu: BotApiEmulator, requests: int, gap: float, query: str, offset: Callable[[], str]
) -> list[float]:
    samples = []
    for _ in range(requests):
        await asyncio.sleep(gap)
        query_id = emu.send_inline_query(query, user_id=USER, offset=offset())
        update_id = emu.last_update_id
        await emu.wait_for(lambda q=query_id: q in emu.inline_answers, 10)
        answer = emu.inline_answers[query_id]
        assert answer.results, (query, answer)
        samples.append((answer.received_at - emu.update_handed_out_at[update_id]) * 1000)
    return samples


async def run(items: int, categories: int, requests: int, gap: float) -> None:
    url = await loaded_database(items, categories, "coopbot-bench-inline-")

    results: dict[str, list[float]] = {}
    async with BotApiEmulator(token=TOKEN, bot_username="BenchBot") as emu:
        emu.register_chat(USER, "private", first_name="Bench")
        emu.inline_cache = False  # every query must reach the bot, not Telegram's cache
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url}
        bot = await _start(
            ["-m", "bot", "run"],
            {**env, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "ADMIN_IDS": ""},
        )
        try:
            await _wait_ready(emu, bot)
            await _latest(emu, 20, gap)
            await _inline(emu, 20, gap, "", str)
            # a real second page: the offset the bot gave for the first
            first = await emu.inline_query("housing", user_id=USER)
            second_page = first.next_offset
            results["/latest"] = await _latest(emu, requests, gap)
            results["inline: empty (latest)"] = await _inline(emu, requests, gap, "", str)
            results["inline: 1 common word"] = await _inline(emu, requests, gap, "housing", str)
            results["inline: 2 common words"] = await _inline(
                emu, requests, gap, "housing project", str
            )
            results["inline: 1 rare word"] = await _inline(emu, requests, gap, "4242", str)
            results["inline: page 2, common"] = await _inline(
                emu, requests, gap, "housing", lambda: second_page
            )
        finally:
            await _stop(bot)

    print(
        f"\n{requests} requests each, {gap * 1000:.0f} ms apart; milliseconds from the update"
        " being handed out to the answer being received\n"
    )
    print(f"{'':26} {'p50':>8} {'p99':>8} {'mean':>8}")
    for name, samples in results.items():
        print(
            f"{name:26} {_pct(samples, 0.5):8.2f} {_pct(samples, 0.99):8.2f}"
            f" {statistics.fmean(samples):8.2f}"
        )
    print("\nwhat an inline answer adds over /latest (goal: < 10 ms at p99)")
    for name, samples in results.items():
        if name != "/latest":
            added = _pct(samples, 0.99) - _pct(results["/latest"], 0.99)
            print(f"  {name:26} p99 {added:+7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between requests")
    args = parser.parse_args()
    asyncio.run(run(args.items, args.categories, args.requests, args.gap))


if __name__ == "__main__":
    main()
