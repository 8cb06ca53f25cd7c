"""Production shape: long polling against webhooks, one process against two, the cost of a
/metrics scrape, and how long a webhook standby takes to resume a broadcast, in one run.

    python -m bench.production [--seconds 20] [--rounds 2]
                               [--database-url postgresql://postgres@127.0.0.1:5432/test]
                               [--cases polling,webhook,…] [--baseline DIR] [--profile DIR]

Every case runs real `python -m bot run` processes on a fresh scratch PostgreSQL database,
against the Bot API emulator (in this process, its flood limits off; the bot's own sending
budget off too, DELIVERY_RATE_LIMITS=off, else replies stop at 30 a second).

Throughput cases: 2,000 distinct users send /latest (the store holds 30 items), kept
`--window` requests outstanding (a user sends again only once answered) for `--seconds`.
Counted over the steady part (the first quarter is left out): replies received per second,
and per request the time from the update leaving the emulator (handed out in a getUpdates
answer; for a webhook, its POST starting) to the reply reaching the emulator.

- polling, 1 process;
- webhook, 1 process (METRICS_LISTEN set, nobody scraping);
- the same with a scraper GETting /metrics once a second;
- webhook, 2 processes, the emulator spreading its POSTs over both in turn.

The four run `--rounds` times in turn and the table shows each figure's median. The bots' CPU
time per reply is shown beside: on a shared machine it moves far less than throughput does,
and so is how busy each part kept the machine's cores (the bots, this process with the
emulator, PostgreSQL's processes), which says what a case ran out of.

`--baseline DIR` (a worktree of another commit: `git worktree add DIR COMMIT`) runs that
tree's polling and webhook cases too, in the same rounds, for before/after figures.
`--profile DIR` samples every bot with py-spy in the last round (`--nonblocking`, 250 Hz)
and prints each case's top functions in milliseconds per reply (`bench/stacks.py`).

Failover: two webhook processes, 2,000 subscribers, the bot's sending budget ON (30
messages a second, as in production); an item is published, and after `--kill-after`
messages the delivery leader gets SIGKILL; measured: the time until the next message of the
broadcast reaches the emulator (the standby sending).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.stacks import cpu_seconds, load, postgres_cpu, sample_stacks, table
from bot.db.engine import create_engine, create_session_factory
from bot.lifecycle import prepare_database
from bot.services.news import NewsService
from bot.services.validation import ItemDraft
from emulator import BotApiEmulator
from testbed.databases import scratch_postgres
from testbed.delivery_kit import add_subscribers
from testbed.harness import BOT_USERNAME, TOKEN
from testbed.harness import test_settings as settings_for
from testbed.processes import ROOT, kill, spawn_bot, stop

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
USERS = 2_000
FIRST_USER = 8_000_000
WARM_USERS = range(8_900_000, 8_900_050)
SUBSCRIBERS = range(9_000_000, 9_002_000)
HOOK_URL = "https://bot.example.org:8443/tg/hook"
SECRET = "bench-secret"
START_TIMEOUT = 60.0
PROFILE_TOP = 25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slug(name: str) -> str:
    return re.sub("[^a-z0-9]+", "-", name)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    name: str
    per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    replies: int = 0
    cpu_ms: float = 0.0  # the bots' CPU time (user + system) per reply, whole run
    load: float = 0.0  # the machine's 1-minute load average as the case started
    scrapes: list[float] = field(default_factory=list)  # seconds per /metrics GET
    scrape_cpu_ms: float = 0.0  # the bot's CPU time per /metrics GET, measured idle
    note: str = ""
    # share of the machine's cores each part kept busy over the measured time
    busy: dict[str, float] = field(default_factory=dict)


async def seed_items(url: str, api_url: str, count: int = 30) -> None:
    await prepare_database(settings_for(url, api_url))
    engine = create_engine(url)
    try:
        news = NewsService(create_session_factory(engine))
        for n in range(count):
            await news.publish(
                ItemDraft(
                    "News",
                    f"Co-op story {n}: members vote on a new housing project",
                    f"https://news.example/{n}",
                    "A summary of the story, long enough to look like a real one. " * 2,
                ),
                source="bench",
                broadcast=False,
            )
    finally:
        await engine.dispose()


async def wait_ready(ports: list[int], processes: list, logs: list[Path]) -> None:
    """Every listener answers /readyz with 200."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(START_TIMEOUT):
        for port, process, log in zip(ports, processes, logs, strict=True):
            while True:
                if process.returncode is not None:
                    raise SystemExit(f"a bot exited ({process.returncode}):\n{log.read_text()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)


async def ask_all(emu: BotApiEmulator, users: range, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
    before = {u: len(emu.messages(u)) for u in users}
    for u in users:
        emu.send_message("/latest", user_id=u, first_name="Reader")
    await emu.wait_for(
        lambda: all(len(emu.messages(u)) > before[u] for u in users), timeout, "warm-up replies"
    )


async def scraper(port: int, times: list[float]) -> None:
    async with aiohttp.ClientSession() as http:
        while True:
            started = time.monotonic()
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                await response.read()
                assert response.status == 200, response.status
            times.append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def scrape_cost(port: int, pid: int, times: int = 50) -> float:
    """The bot's CPU milliseconds per /metrics GET, scraped back to back while idle."""
    async with aiohttp.ClientSession() as http:
        before = cpu_seconds([pid])
        for _ in range(times):
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                await response.read()
        return (cpu_seconds([pid]) - before) * 1000 / times


async def throughput(
    server: str,
    name: str,
    *,
    processes: int,
    webhook: bool,
    scrape: bool,
    seconds: float,
    window: int,
    workdir: Path,
    profile: Path | None = None,
    tree: Path | None = None,
) -> Result:
    result = Result(name)
    users = list(range(FIRST_USER, FIRST_USER + USERS))
    async with (
        scratch_postgres(server, "coopbot_pbench") as url,
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
    ):
        emu.enforce_limits = False
        await seed_items(url, emu.base_url)
        for u in [*users, *WARM_USERS]:
            emu.register_chat(u, "private", first_name="Reader")
        hook_ports = [free_port() for _ in range(processes)] if webhook else []
        metrics_ports = [free_port() for _ in range(processes)]
        if webhook:
            emu.set_webhook_targets([f"http://127.0.0.1:{p}" for p in hook_ports])
        bots, logs = [], []
        try:
            for n in range(processes):
                env = {"METRICS_LISTEN": f"127.0.0.1:{metrics_ports[n]}"}
                if webhook:
                    env |= {
                        "WEBHOOK_URL": HOOK_URL,
                        "WEBHOOK_SECRET": SECRET,
                        "WEBHOOK_LISTEN": f"127.0.0.1:{hook_ports[n]}",
                    }
                logs.append(workdir / f"{slug(name)}-{n}.log")
                bots.append(await spawn_bot(url, emu, logs[-1], tree=tree or ROOT, **env))
            await wait_ready(metrics_ports, bots, logs)
            await ask_all(emu, WARM_USERS)
            if scrape:
                result.scrape_cpu_ms = await scrape_cost(metrics_ports[0], bots[0].pid)
            scraping = (
                asyncio.create_task(scraper(metrics_ports[0], result.scrapes)) if scrape else None
            )

            asked: dict[int, list[int]] = {u: [] for u in users}
            answered = lambda u: len(emu.messages(u))  # noqa: E731
            base = emu.stats.sent_messages
            requested = 0
            loop = asyncio.get_running_loop()
            result.load = os.getloadavg()[0]
            samplers = (
                [
                    await sample_stacks(b.pid, seconds, profile / f"{slug(name)}-{n}.txt")
                    for n, b in enumerate(bots)
                ]
                if profile is not None
                else []
            )
            cpu_before = cpu_seconds([b.pid for b in bots])
            parts_before = (time.process_time(), postgres_cpu())
            started = time.monotonic()
            deadline = loop.time() + seconds
            turn = 0
            while loop.time() < deadline:
                while requested - (emu.stats.sent_messages - base) < window:
                    u = users[turn % USERS]
                    turn += 1
                    if len(asked[u]) > answered(u):
                        continue  # still waiting for its last answer
                    emu.send_message("/latest", user_id=u, first_name="Reader")
                    asked[u].append(emu.last_update_id)
                    requested += 1
                with contextlib.suppress(TimeoutError):
                    await emu.wait_for(
                        lambda r=requested: r - (emu.stats.sent_messages - base) < window * 3 // 4,
                        max(0.01, deadline - loop.time()),
                    )
            ended = time.monotonic()
            cpu = cpu_seconds([b.pid for b in bots]) - cpu_before
            cores = (ended - started) * (os.cpu_count() or 1)
            result.busy = {
                "bots": cpu / cores,
                "emulator and driver": (time.process_time() - parts_before[0]) / cores,
                "PostgreSQL": sum(postgres_cpu(since=parts_before[1]).values()) / cores,
            }
            for sampler in samplers:
                await sampler.wait()
            if scraping is not None:
                scraping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scraping
        finally:
            for bot in bots:
                await stop(bot)
        steady_from = started + (ended - started) / 4
        latencies = []
        answered_in_run = 0
        for u in users:
            for update_id, reply in zip(asked[u], emu.messages(u), strict=False):
                answered_in_run += started <= reply.received_at <= ended
                if steady_from <= reply.received_at <= ended:
                    handed = emu.update_handed_out_at[update_id]
                    latencies.append((reply.received_at - handed) * 1000)
        result.replies = len(latencies)
        result.per_second = len(latencies) / (ended - steady_from)
        result.p50_ms = _pct(latencies, 0.5)
        result.p99_ms = _pct(latencies, 0.99)
        result.cpu_ms = cpu * 1000 / answered_in_run
        if webhook:
            during = [a for a in emu.webhook_attempts if started <= a.started_at <= ended]
            spread = Counter(a.target for a in during if a.ok)
            errors = Counter(a.error for a in during if a.error)
            result.note = (
                f"POSTs per target {'/'.join(str(n) for n in spread.values())},"
                f" failed {dict(errors) or 0}"
            )
        if scrape:
            median = statistics.median(result.scrapes) * 1000
            result.note += f"; {len(result.scrapes)} scrapes, median {median:.1f} ms each"
    if profile is not None:
        stacks = load(*(profile / f"{slug(name)}-{n}.txt" for n in range(processes)))
        ms_per_sample = result.cpu_ms / stacks.samples if stacks.samples else 0.0
        print("\n".join(table(stacks, PROFILE_TOP, ms_per_sample, f"{name}, ms per reply")))
    print(
        f"{name:32} {result.per_second:7.1f}/s  p50 {result.p50_ms:7.1f} ms"
        f"  p99 {result.p99_ms:7.1f} ms  bot CPU {result.cpu_ms:5.2f} ms/reply"
        f"  load {result.load:.1f}  {result.note}"
        f"  cores busy: {', '.join(f'{k} {v:.0%}' for k, v in result.busy.items())}",
        flush=True,
    )
    return result


async def failover(server: str, kill_after: int, workdir: Path) -> tuple[float, int, int]:
    """(seconds from SIGKILL to the standby's first message, sent at the kill, subscribers)."""
    async with (
        scratch_postgres(server, "coopbot_pbench") as url,
        BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu,
    ):
        emu.enforce_limits = False
        await seed_items(url, emu.base_url, count=1)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        await add_subscribers(sessions, SUBSCRIBERS)
        for chat_id in SUBSCRIBERS:
            emu.register_chat(chat_id)
        ports = [free_port(), free_port()]
        emu.set_webhook_targets([f"http://127.0.0.1:{p}" for p in ports])
        bots, logs = [], []
        try:
            for n, port in enumerate(ports):
                logs.append(workdir / f"failover-{n}.log")
                bots.append(
                    await spawn_bot(
                        url,
                        emu,
                        logs[-1],
                        LOG_LEVEL="INFO",
                        DELIVERY_RATE_LIMITS="on",
                        WEBHOOK_URL=HOOK_URL,
                        WEBHOOK_SECRET=SECRET,
                        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                    )
                )
                await wait_ready([port], [bots[-1]], [logs[-1]])
                if n == 0:  # the first one up leads
                    async with asyncio.timeout(START_TIMEOUT):
                        while "leads now" not in logs[0].read_text():  # noqa: ASYNC110
                            await asyncio.sleep(0.05)
            await NewsService(sessions).publish(
                ItemDraft("News", "Failover item", "https://news.example/failover", "Summary."),
                source="bench",
            )
            sent = lambda: sum(1 for c in SUBSCRIBERS if emu.messages(c))  # noqa: E731
            await emu.wait_for(lambda: sent() >= kill_after, 60, "broadcast under way")
            await kill(bots[0])
            killed_at = time.monotonic()
            at_kill = sent()
            await emu.wait_for(lambda: sent() > at_kill, 60, "standby sending")
            resumed = min(
                m.received_at
                for c in SUBSCRIBERS
                for m in emu.messages(c)
                if m.received_at >= killed_at
            )
        finally:
            for bot in bots:
                await stop(bot)
            await engine.dispose()
    seconds = resumed - killed_at
    print(f"{'failover (webhook, 2 processes)':32} {seconds:7.2f} s after SIGKILL", flush=True)
    return seconds, at_kill, len(SUBSCRIBERS)


CASE_KEYS = {
    "polling, 1 process, baseline": "polling-baseline",
    "webhook, 1 process, baseline": "webhook-baseline",
    "polling, 1 process": "polling",
    "webhook, 1 process": "webhook",
    "webhook, 1 process, /metrics 1/s": "scraped",
    "webhook, 2 processes": "two",
}
CASES = (
    ("polling, 1 process, baseline", {"processes": 1, "webhook": False, "scrape": False}),
    ("webhook, 1 process, baseline", {"processes": 1, "webhook": True, "scrape": False}),
    ("polling, 1 process", {"processes": 1, "webhook": False, "scrape": False}),
    ("webhook, 1 process", {"processes": 1, "webhook": True, "scrape": False}),
    ("webhook, 1 process, /metrics 1/s", {"processes": 1, "webhook": True, "scrape": True}),
    ("webhook, 2 processes", {"processes": 2, "webhook": True, "scrape": False}),
)


def median_of(runs: list[Result]) -> Result:
    """Each figure's median over the rounds (the machine's other load drifts)."""
    return Result(
        runs[0].name,
        scrape_cpu_ms=statistics.median(r.scrape_cpu_ms for r in runs),
        per_second=statistics.median(r.per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        replies=sum(r.replies for r in runs),
        cpu_ms=statistics.median(r.cpu_ms for r in runs),
        load=statistics.fmean(r.load for r in runs),
        busy={k: statistics.median(r.busy.get(k, 0.0) for r in runs) for k in runs[0].busy},
    )


async def run(args: argparse.Namespace, workdir: Path) -> None:
    common = {"seconds": args.seconds, "window": args.window, "workdir": workdir}
    chosen = [
        (name, case)
        for name, case in CASES
        if CASE_KEYS[name] in args.cases
        and (args.baseline is not None or not name.endswith("baseline"))
    ]
    runs: dict[str, list[Result]] = {name: [] for name, _ in chosen}
    for number in range(1, args.rounds + 1):
        print(f"round {number} of {args.rounds}", flush=True)
        for name, case in chosen:
            profile = args.profile if number == args.rounds else None  # the last round's
            tree = args.baseline if name.endswith("baseline") else None
            runs[name].append(
                await throughput(
                    args.database_url, name, **case, **common, profile=profile, tree=tree
                )
            )
    results = {CASE_KEYS[name]: median_of(found) for name, found in runs.items()}
    takeover, at_kill, total = (
        await failover(args.database_url, args.kill_after, workdir)
        if "failover" in args.cases
        else (None, 0, 0)
    )

    print(
        f"\n{USERS:,} users sending /latest, {args.window} outstanding, {args.seconds:g} s per case"
        f" and round, {args.rounds} round(s) in turn, medians shown"
        " (first quarter of each left out); PostgreSQL, a fresh database per case; emulator limits"
        " off, DELIVERY_RATE_LIMITS=off; 2 CPU cores shared by the bots, the emulator, this"
        " driver and PostgreSQL\n"
    )
    print(
        f"| {'case':34} | {'replies/s':>9} | {'p50 ms':>8} | {'p99 ms':>8}"
        f" | {'bot CPU ms/reply':>16} | {'load':>5} | cores busy: bots / emulator / PostgreSQL |"
    )
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 18}|{'-' * 7}|{'-' * 43}|")
    for r in results.values():
        busy = " / ".join(f"{v:.0%}" for v in r.busy.values())
        print(
            f"| {r.name:34} | {r.per_second:9.1f} | {r.p50_ms:8.1f} | {r.p99_ms:8.1f}"
            f" | {r.cpu_ms:16.2f} | {r.load:5.1f} | {busy:41} |"
        )
    if takeover is not None:
        print(
            f"| {'failover: SIGKILL → standby sends':34} | {takeover:7.2f} s"
            f" (killed after {at_kill} of {total:,}, budget on) |"
        )
    print("\n| ratio | measured | goal |\n|---|---|---|")
    polling, hook = results.get("polling"), results.get("webhook")
    scraped, two = results.get("scraped"), results.get("two")
    if polling and hook:
        print(
            f"| webhook / polling (1 process) | {hook.per_second / polling.per_second:.2f}× | ≥ 1 |"
        )
        cpu = hook.cpu_ms / polling.cpu_ms
        print(f"| bot CPU per reply, webhook / polling | {cpu:.2f}× | ≤ 1.1 |")
    before_polling, before_hook = results.get("polling-baseline"), results.get("webhook-baseline")
    if before_polling and before_hook:
        print(
            f"| baseline: webhook / polling (1 process) |"
            f" {before_hook.per_second / before_polling.per_second:.2f}× | - |"
        )
        cpu = before_hook.cpu_ms / before_polling.cpu_ms
        print(f"| baseline: bot CPU per reply, webhook / polling | {cpu:.2f}× | - |")
    for key in ("polling", "webhook"):
        now, before = results.get(key), results.get(f"{key}-baseline")
        if now and before:
            print(
                f"| {key}: bot CPU per reply, this tree / baseline |"
                f" {now.cpu_ms / before.cpu_ms:.2f}× | - |"
            )
    if hook and two:
        print(f"| 2 processes / 1 (webhook) | {two.per_second / hook.per_second:.2f}× | ≥ 1.5 |")
    if hook and scraped:
        cost = 1 - scraped.per_second / hook.per_second
        cpu_cost = scraped.cpu_ms / hook.cpu_ms - 1
        print(f"| throughput lost to /metrics 1/s | {cost * 100:.1f} % | < 5 % |")
        print(f"| bot CPU per reply added by /metrics 1/s | {cpu_cost * 100:.1f} % | < 5 % |")
        # a scrape's own CPU against the CPU one second of webhook traffic takes at that rate
        busy_ms = hook.cpu_ms * hook.per_second
        print(
            f"| one scrape's CPU ({scraped.scrape_cpu_ms:.1f} ms, idle) / 1 s of webhook work"
            f" ({busy_ms:.0f} ms) | {scraped.scrape_cpu_ms / busy_ms * 100:.1f} % | < 5 % |"
        )
    if takeover is not None:
        print(f"| failover | {takeover:.2f} s | < 5 s |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.production")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default=SERVER)
    parser.add_argument("--window", type=int, default=200, help="requests kept outstanding")
    parser.add_argument("--kill-after", type=int, default=100, help="messages before SIGKILL")
    parser.add_argument("--rounds", type=int, default=2, help="each case this many times")
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this folder")
    parser.add_argument(
        "--cases",
        type=lambda text: set(text.split(",")),
        default={*CASE_KEYS.values(), "failover"},
        help="some of polling,webhook,scraped,two,failover and, with --baseline,"
        " polling-baseline,webhook-baseline (all by default)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another commit (git worktree add DIR COMMIT): its polling and"
        " webhook cases run too, in the same rounds, for before/after figures",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample each bot with py-spy in the last round; its stacks go in this folder",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coopbot-pbench-") as workdir:
        folder = args.logs or Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args, folder))


if __name__ == "__main__":
    main()
