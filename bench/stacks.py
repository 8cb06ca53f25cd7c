"""Where a process's CPU goes: its CPU time from /proc, py-spy sampling it, and summaries of
py-spy's raw (collapsed) stacks.

    python -m bench.stacks FILE [FILE …] [--top 25]

py-spy writes one line per distinct stack, `frame;frame;…;frame COUNT`, each frame
`function (file:line)`. Printed: the functions holding the most samples themselves (self) and
within their callees (inclusive), as shares of the samples; `bench.production --profile`
prints them as milliseconds per reply (each share of the bot's CPU time per reply).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# beside this interpreter (a venv's bin) when installed there, else on PATH
PY_SPY = str(next((p for p in [Path(sys.executable).with_name("py-spy")] if p.exists()), "py-spy"))
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


async def sample_stacks(pid: int, seconds: float, into: Path) -> asyncio.subprocess.Process:
    """py-spy sampling `pid` for `seconds` without pausing it, collapsed stacks into `into`."""
    return await asyncio.create_subprocess_exec(
        PY_SPY, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", "250", "--nonblocking", "--format", "raw", "--output", str(into),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:  # a PostgreSQL backend that ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu(since: dict[int, float] | None = None) -> dict[int, float]:
    """CPU seconds of each of the PostgreSQL server's processes on this machine (its other
    work too); with `since`, each one's CPU since then (a process new since counts whole)."""
    found = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError, ValueError):
            if comm.read_text().strip() == "postgres":
                pid = int(comm.parent.name)
                found[pid] = cpu_seconds([pid]) - (since or {}).get(pid, 0.0)
    return found


@dataclass(frozen=True)
class Profile:
    samples: int
    own: Counter[str]
    inclusive: Counter[str]


def _where(frame: str) -> str:
    """`function (path:line)` -> `function (package/module.py)`: lines apart, one entry."""
    found = _FRAME.match(frame)
    if found is None:
        return frame
    path = found["file"]
    for marker in ("site-packages/", "/lib/python3", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    path = "/".join(Path(path).parts[-2:])
    return f"{found['function']} ({path})"


def load(*files: Path) -> Profile:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for file in files:
        for line in file.read_text().splitlines():
            found = _LINE.match(line)
            if found is None:
                continue
            count = int(found["count"])
            frames = [_where(f) for f in found["stack"].split(";") if f]
            if not frames:
                continue
            samples += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    return Profile(samples, own, inclusive)


def table(profile: Profile, top: int, unit: float | None, label: str) -> list[str]:
    """`unit`: milliseconds one sample stands for (per unit of work), else shares (%)."""
    lines = [f"{label}: {profile.samples} samples"]
    for title, counter in (("self", profile.own), ("inclusive", profile.inclusive)):
        lines.append(f"  top {top} by {title}:")
        for where, count in counter.most_common(top):
            figure = (
                f"{count * unit:7.3f} ms"
                if unit is not None
                else f"{count * 100 / profile.samples:6.1f} %"
            )
            lines.append(f"    {figure}  {where}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stacks")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print("\n".join(table(load(*args.files), args.top, None, ", ".join(map(str, args.files)))))


if __name__ == "__main__":
    main()
