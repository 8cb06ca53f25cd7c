"""Search benchmark: what /search and inline search cost beside /latest, on a big archive.

    python -m bench.search [--items 1000000] [--stores sqlite,postgresql]
                           [--database-url postgresql://postgres@127.0.0.1:5432/test]
                           [--samples 1000] [--case-seconds 60] [--existing URL,URL]

For each store: a fresh database brought to the head by the migrations (so the index and its
triggers are the production ones), `--items` items inserted in bulk through SQLAlchemy Core
(SQLite: the FTS5 triggers index each row as it goes in; PostgreSQL: the generated tsvector
is computed on insert and the GIN index is built once at the end). Titles and summaries are
drawn from a Zipf-distributed vocabulary: the seed data's words and a co-op news word list
first (the common words), then made-up words (the rare tail), so some words are in a third of
the items and others in a few hundred. 80 % of items are English, 10 % French, 10 % Spanish.

Then, in the same run and one after another, the service calls behind:
- /latest: `NewsService.page(5)` (its in-memory cache off);
- /search: `SearchService.search(text, limit=5)` with 1, 2 and 3 common and rare words;
- inline: `search(text, limit=10)`, and its next page (the cursor encoded and decoded).
Each case runs `--samples` times, or fewer when it takes longer than `--case-seconds` (the
table says how many), and shows p50 and p99 in milliseconds, and the garbage collector's runs
during the case (per generation, and how many of the samples at p99 or above had one). A
sample during which the process was stopped from outside (SIGSTOP, then SIGCONT: another
session on a shared machine) is taken again and counted. `--existing` times databases built
before by `build` (e.g. to run two versions of the code on the same rows). Then "search adds
X ms at p99 over /latest" (worst case and typical), and the index's size beside the items
table's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Category, Item
from bot.lifecycle import prepare_database, settle_garbage_collector
from bot.services.news import NewsService
from bot.services.search import WINDOW, SearchCursor, SearchService
from bot.services.seed import load_seed_document
from testbed.databases import scratch_postgres
from testbed.harness import test_settings

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 5_000
START = datetime(2015, 1, 1, tzinfo=UTC)
CATEGORIES = [
    "News",
    "Housing",
    "Agriculture",
    "Finance",
    "Decent work",
    "Energy",
    "Health",
    "Education",
    "Retail",
    "Fair trade",
    "Youth",
    "Policy",
]
# common co-op news words, most frequent first (after the seed data's own words)
WORDS = """
cooperative cooperatives members housing workers community farmers union federation
development social economy local women youth enterprise business credit savings energy
rural agriculture market employment training policy report conference international
alliance global network support project program growth finance bank insurance health care
education school students jobs income workplace democracy governance board meeting annual
congress strategy partnership solidarity sustainable climate renewable solar wind water
food coffee cocoa cotton dairy milk fisheries forest land tenure urban city region country
national government law legislation tax reform crisis recovery pandemic digital platform
technology innovation research study survey data statistics launch initiative campaign
award prize celebration day week anniversary history movement principles values identity
member owned democratic control autonomy independence concern cooperation among
coopérative coopératives logement agriculteurs travailleurs économie sociale solidaire
cooperativa cooperativas vivienda trabajadores economía social solidaria desarrollo
""".split()  # noqa: SIM905
STOPWORDS = frozenset("the and with from for that this are was were its their has have".split())  # noqa: SIM905


def vocabulary(size: int = 20_000) -> list[str]:
    """Seed words (by their frequency there), the word list, then made-up words."""
    seen: dict[str, None] = {}
    counts: dict[str, int] = {}
    for entry in load_seed_document()["items"]:
        for word in f"{entry['title']} {entry.get('summary') or ''}".lower().split():
            word = "".join(ch for ch in word if ch.isalpha())
            if len(word) >= 3 and word not in STOPWORDS:
                counts[word] = counts.get(word, 0) + 1
    for word in sorted(counts, key=lambda w: -counts[w]):
        seen.setdefault(word)
    for word in WORDS:
        seen.setdefault(word)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    made_up = random.Random(7)
    while len(seen) < size:
        seen.setdefault("".join(made_up.choices(syllables, k=made_up.randint(3, 4))))
    return list(seen)


@dataclass(frozen=True)
class Corpus:
    words: list[str]
    cumulative: list[float]

    @classmethod
    def zipf(cls, words: list[str]) -> Corpus:
        total = 0.0
        cumulative = []
        for rank in range(1, len(words) + 1):
            total += 1.0 / rank
            cumulative.append(total)
        return cls(words, cumulative)

    def rows(self, count: int, category_ids: list[int]) -> Iterator[dict]:
        rng = random.Random(42)
        step = timedelta(minutes=5)
        for n in range(count):
            title = rng.choices(self.words, cum_weights=self.cumulative, k=rng.randint(5, 10))
            summary = rng.choices(self.words, cum_weights=self.cumulative, k=rng.randint(15, 35))
            draw = rng.random()
            yield {
                "title": " ".join(title).capitalize(),
                "summary": " ".join(summary).capitalize() + ".",
                "url": f"https://bench.example/items/{n}",
                "category_id": category_ids[n % len(category_ids)],
                "published_at": START + step * n,
                "created_at": START + step * n,
                "source": "bench",
                "language": "en" if draw < 0.8 else ("fr" if draw < 0.9 else "es"),
            }


@contextlib.asynccontextmanager
async def database(store: str, server: str) -> AsyncIterator[str]:
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    async with scratch_postgres(server, prefix="coopbot_bench") as url:
        yield url


async def build(engine: AsyncEngine, corpus: Corpus, count: int) -> float:
    """Fill the store; returns the seconds it took."""
    began = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as connection:
        result = await connection.execute(
            insert(Category).returning(Category.id),
            [{"name": name, "name_key": name.casefold(), "item_count": 0} for name in CATEGORIES],
        )
        category_ids = [row[0] for row in result]
        if postgres:  # built once at the end: much faster than row by row
            await connection.execute(text("DROP INDEX ix_items_search"))
    rows = corpus.rows(count, category_ids)
    done = 0
    while done < count:
        batch = [row for _, row in zip(range(BATCH), rows, strict=False)]
        async with engine.begin() as connection:
            await connection.execute(insert(Item), batch)
        done += len(batch)
        if done % 100_000 == 0:
            print(f"  {done:>9,} items, {time.perf_counter() - began:6.0f} s", flush=True)
    async with engine.begin() as connection:
        for category_id in category_ids:
            await connection.execute(
                update(Category)
                .where(Category.id == category_id)
                .values(item_count=count // len(category_ids))
            )
        if postgres:
            await connection.execute(text("SET maintenance_work_mem = '512MB'"))
            await connection.execute(
                text("CREATE INDEX ix_items_search ON items USING gin (search_vector)")
            )
    async with engine.connect() as connection:
        if postgres:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE items"))
        else:
            await connection.execute(text("ANALYZE"))
    return time.perf_counter() - began


async def sizes(engine: AsyncEngine) -> list[tuple[str, str]]:
    mb = 1024 * 1024
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = dict(
                (
                    await connection.execute(
                        text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
                    )
                ).all()
            )
            items = rows["items"]
            index = sum(size for name, size in rows.items() if name.startswith("items_fts"))
            return [
                ("items table", f"{items / mb:8.1f} MB"),
                ("FTS5 index (items_fts_*)", f"{index / mb:8.1f} MB"),
                ("index / items table", f"{index / items:8.2f}"),
            ]
        heap, gin, total, vectors = (
            await connection.execute(
                text(
                    "SELECT pg_relation_size('items'), pg_relation_size('ix_items_search'), "
                    "pg_total_relation_size('items'), "
                    "(SELECT sum(pg_column_size(search_vector)) FROM items)"
                )
            )
        ).one()
        return [
            ("items table (heap, with the tsvector)", f"{heap / mb:8.1f} MB"),
            ("tsvector column in it", f"{int(vectors) / mb:8.1f} MB"),
            ("GIN index", f"{gin / mb:8.1f} MB"),
            ("items total (all indexes, TOAST)", f"{total / mb:8.1f} MB"),
            (
                "(GIN + tsvector) / (heap - tsvector)",
                f"{(gin + int(vectors)) / (heap - int(vectors)):8.2f}",
            ),
            ("GIN / heap", f"{gin / heap:8.2f}"),
        ]


# SIGCONTs received: on a shared machine another session may stop this process (SIGSTOP,
# which cannot be caught) while it measures; the SIGCONT that resumes it can be
RESUMED = [0]


def _resumed(_signal: int, _frame: object) -> None:
    RESUMED[0] += 1


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]  # milliseconds
    collections: tuple[int, int, int] = (0, 0, 0)  # garbage collector runs per generation
    slow_collected: int = 0  # samples above p99 that a collection ran in
    stopped: int = 0  # samples taken again: the process was stopped from outside meanwhile

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


async def timed(
    name: str, call: Callable[[], Awaitable[object]], samples: int, budget: float
) -> Timing:
    """`samples` timed calls (fewer past `budget` seconds), after one to warm plans and caches;
    also counts the garbage collector's runs, and which samples they fell in, so that an
    outlier can be told from a collection."""
    await call()  # warm: plans, caches
    times: list[float] = []
    runs = [0, 0, 0]
    collected: list[bool] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs[info["generation"]] += 1

    gc.callbacks.append(count)
    stopped = 0
    try:
        ended = time.perf_counter() + budget
        while len(times) < samples and (len(times) < 5 or time.perf_counter() < ended):
            before = sum(runs)
            resumed = RESUMED[0]
            began = time.perf_counter()
            await call()
            took = (time.perf_counter() - began) * 1000
            if RESUMED[0] != resumed:
                # the process was stopped (SIGSTOP) from outside during the call: the time
                # is the stop's, not the search's; taken again, and counted in the table
                stopped += 1
                continue
            times.append(took)
            collected.append(sum(runs) > before)
    finally:
        gc.callbacks.remove(count)
    timing = Timing(name, times, (runs[0], runs[1], runs[2]), stopped=stopped)
    p99 = timing.p99
    slow = sum(1 for t, c in zip(times, collected, strict=True) if c and t >= p99)
    return Timing(name, times, timing.collections, slow, stopped)


def queries(words: list[str]) -> list[tuple[str, str]]:
    """(label, text): 1, 2 and 3 words, common (the top of the vocabulary: in most items),
    middling (in about 2 % of items: the hardest case for the newest-matches window) and
    rare (in a few hundred of a million), and a rare word beside common ones."""
    common = [w for w in words[:40] if w.isascii()][:3]
    middling = words[150:153]
    rare = words[12_000:12_003]
    cases = []
    for name, group in (("common", common), ("middling", middling), ("rare", rare)):
        for n in (1, 2, 3):
            cases.append((f"{n} {name} word{'s' if n > 1 else ''}", " ".join(group[:n])))
    cases.append(("rare + 2 common", " ".join([rare[0], *common[:2]])))
    return cases


async def measure(
    engine: AsyncEngine, corpus: Corpus, samples: int, budget: float, window: int | None
) -> tuple[list[tuple[Timing, str, int]], Timing]:
    sessions = create_session_factory(engine)
    news = NewsService(sessions, cache_seconds=0)
    search = SearchService(sessions, engine.dialect.name, window=window)
    latest = await timed("/latest (NewsService.page 5)", lambda: news.page(5), samples, budget)
    results: list[tuple[Timing, str, int]] = []
    for label, words in queries(corpus.words):
        first = await search.search(words, limit=10)
        found = len(first.items)

        async def page(words: str = words) -> object:
            return await search.search(words, limit=5)

        async def inline(words: str = words) -> object:
            return await search.search(words, limit=10)

        async def inline_next(words: str = words, cursor: str | None = None) -> object:
            after = SearchCursor.decode(cursor) if cursor else None
            return await search.search(words, limit=10, after=after)

        cursor = first.cursor.encode() if first.cursor and first.more else None
        results.append((await timed(f"/search {label}", page, samples, budget), words, found))
        results.append((await timed(f"inline {label}", inline, samples, budget), words, found))
        if cursor:
            timing = await timed(
                f"inline next page {label}",
                lambda words=words, cursor=cursor: inline_next(words, cursor),
                samples,
                budget,
            )
            results.append((timing, words, found))
    # and once more at the end: the same /latest, in case the machine's load moved
    latest_again = await timed("/latest (again)", lambda: news.page(5), samples, budget)
    runs = tuple(a + b for a, b in zip(latest.collections, latest_again.collections, strict=True))
    latest = Timing(
        latest.name,
        latest.samples + latest_again.samples,
        (runs[0], runs[1], runs[2]),
        latest.slow_collected + latest_again.slow_collected,
        latest.stopped + latest_again.stopped,
    )
    return results, latest


def table(title: str, rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n{title}\n" + "-" * (sum(widths) + 2 * len(widths)))
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(flush=True)


@contextlib.asynccontextmanager
async def built(
    store: str, args: argparse.Namespace, corpus: Corpus
) -> AsyncIterator[tuple[str, float]]:
    """A database of `args.items` items: made now, or the one `--existing` names (built
    earlier by this bench's `build`, so that two versions of the code can be timed on the
    same rows one after the other), and the seconds the build took (0: not built now)."""
    existing = [u for u in args.existing if store in u]
    if existing:
        print(f"{store}: the existing {existing[0]}", flush=True)
        yield existing[0], 0.0
        return
    async with database(store, args.database_url) as url:
        await prepare_database(test_settings(url, "http://127.0.0.1:9/bot"))
        engine = create_engine(url)
        try:
            print(f"{store}: inserting {args.items:,} items", flush=True)
            seconds = await build(engine, corpus, args.items)
        finally:
            await engine.dispose()
        yield url, seconds


async def bench_store(store: str, args: argparse.Namespace, corpus: Corpus) -> None:
    async with built(store, args, corpus) as (url, seconds):
        engine = create_engine(url)
        # as `coopbot run` does once started: what start-up (here: the build) made is out of
        # the collector's sight, so a full collection walks only what the searches make
        settle_garbage_collector()
        try:
            for window in args.windows:
                timings, latest = await measure(
                    engine, corpus, args.samples, args.case_seconds, window
                )
                report(
                    f"{store}, {args.items:,} items (built in {seconds:.0f} s), "
                    f"ranking window {window or 'off'}",
                    store,
                    timings,
                    latest,
                )
            storage = await sizes(engine)
        finally:
            await engine.dispose()
    table(f"{store}: index size", [("", ""), *storage])


def gc_runs(timing: Timing) -> str:
    """The collector's runs per generation, and how many of the samples at or above p99
    one ran in."""
    young, middle, old = timing.collections
    stopped = f", {timing.stopped} stopped" if timing.stopped else ""
    return f"{young}/{middle}/{old} ({timing.slow_collected} at p99+{stopped})"


def report(title: str, store: str, timings: list[tuple[Timing, str, int]], latest: Timing) -> None:
    rows = [
        ("case", "query", "hits≥", "n", "p50 ms", "p99 ms", "p99 - /latest p99", "gc runs 0/1/2")
    ]
    rows.append(
        (
            latest.name,
            "",
            "",
            str(len(latest.samples)),
            f"{latest.p50:.2f}",
            f"{latest.p99:.2f}",
            "",
            gc_runs(latest),
        )
    )
    for timing, words, found in timings:
        rows.append(
            (
                timing.name,
                words,
                str(found),
                str(len(timing.samples)),
                f"{timing.p50:.2f}",
                f"{timing.p99:.2f}",
                f"{timing.p99 - latest.p99:+.2f}",
                gc_runs(timing),
            )
        )
    table(title, rows)
    slash = [t for t, _w, _f in timings if t.name.startswith("/search")]
    inline = [t for t, _w, _f in timings if t.name.startswith("inline")]
    for what, group in (("/search", slash), ("inline search", inline)):
        worst = max(t.p99 for t in group) - latest.p99
        typical = statistics.median(t.p99 for t in group) - latest.p99
        print(
            f"{store}: {what} adds {worst:.1f} ms at p99 over /latest in the worst case "
            f"({typical:.1f} ms for the median case)"
        )


async def run(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGCONT, _resumed)
    corpus = Corpus.zipf(vocabulary())
    for store in args.stores.split(","):
        await bench_store(store.strip(), args, corpus)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--database-url", default=SERVER)
    parser.add_argument(
        "--existing",
        type=lambda value: value.split(","),
        default=[],
        help="database URLs already built by this bench (one per store) to time instead",
    )
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--case-seconds", type=float, default=60.0)
    parser.add_argument(
        "--windows",
        type=lambda value: [None if w == "off" else int(w) for w in value.split(",")],
        default=[WINDOW],
        help="ranking windows to measure in turn, e.g. 1000,200 (off: rank every match)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
