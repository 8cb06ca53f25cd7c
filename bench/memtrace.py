"""Opt-in tracemalloc snapshots of a bot process that a bench starts, to find what holds memory.

A bench that honours `COOPBOT_TRACEMALLOC=/some/prefix` starts its bot as
`python -m bench.memtrace -m bot run` instead of `python -m bot run`: this wrapper starts
tracemalloc (COOPBOT_TRACEMALLOC_FRAMES frames, 12 by default), runs the module, and writes a
snapshot to `<prefix>.<n>.snapshot` each time it receives SIGUSR1 (the bench sends one when
the bot is ready and one after the run). Tracing costs time and memory, so figures taken
with it on are not the bench's figures; without the variable nothing is traced.

    python -m bench.memtrace report PREFIX.1.snapshot PREFIX.2.snapshot

prints the top allocation sources of each snapshot and what grew between them, each by the
first frame in the project's own code (`bot/`, `handlers/`, `migrations/`): an import shows
as the project's import line that pulled the package in) and by the allocating line.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

ENV = "COOPBOT_TRACEMALLOC"
FRAMES = "COOPBOT_TRACEMALLOC_FRAMES"  # frames kept per allocation (default 12: slow start)
OURS = tuple(f"{os.sep}{part}{os.sep}" for part in ("bot", "handlers", "migrations"))


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MiB: its memory now and at its peak."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def command(module: str, *args: str) -> list[str]:
    """The child's `python` arguments: `-m module args`, wrapped when tracing is asked for."""
    if os.environ.get(ENV):
        return ["-m", "bench.memtrace", "-m", module, *args]
    return ["-m", module, *args]


def snapshot_on_signal(prefix: str) -> None:
    taken = 0

    def take(_signum: int, _frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        path = f"{prefix}.{taken}.snapshot"
        tracemalloc.take_snapshot().dump(path)
        print(f"memtrace: wrote {path}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR1, take)


def _source(trace: tracemalloc.Trace | tracemalloc.Statistic) -> str:
    """The innermost frame in the project's code, else the innermost one outside importlib."""
    frames = list(trace.traceback)  # most recent first
    for frame in frames:
        if any(part in frame.filename for part in OURS):
            return _short(frame)
    for frame in frames:
        if not frame.filename.startswith("<frozen"):
            return _short(frame)
    return _short(frames[0])


def _short(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    for marker in ("site-packages/", "/lib/python3"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    else:
        root = str(Path(__file__).resolve().parent.parent) + os.sep
        name = name.removeprefix(root)
    return f"{name}:{frame.lineno}"


def by_source(snapshot: tracemalloc.Snapshot) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        sizes[_source(stat)] += stat.size
    return sizes


def _top(title: str, sizes: Counter[str], n: int) -> None:
    print(f"\n{title} (total {sum(sizes.values()) / 2**20:.1f} MiB)")
    for source, size in sorted(sizes.items(), key=lambda kv: -abs(kv[1]))[:n]:
        print(f"  {size / 2**20:+8.2f} MiB  {source}")


def report(first: str, last: str, n: int = 20) -> None:
    start, end = tracemalloc.Snapshot.load(first), tracemalloc.Snapshot.load(last)
    before, after = by_source(start), by_source(end)
    _top(f"at start ({first})", before, n)
    _top(f"after the run ({last})", after, n)
    grown = Counter(after)
    grown.subtract(before)
    _top("grown between them", grown, n)
    lines = end.compare_to(start, "lineno")
    print("\ngrown, by allocating line")
    for stat in lines[:n]:
        print(f"  {stat.size_diff / 2**20:+8.2f} MiB  {_short(stat.traceback[0])}")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["report"] and len(args) == 3:
        report(args[1], args[2])
        return
    if args[:1] != ["-m"] or len(args) < 2:
        raise SystemExit(__doc__)
    prefix = os.environ.get(ENV)
    if prefix:
        tracemalloc.start(int(os.environ.get(FRAMES) or 12))
        snapshot_on_signal(prefix)
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
