"""Stopping asyncio work within a bound, and saying where it hung when it would not stop.

A stop runs steps one after another (see `bot.app.running_bot`). Each step gets a bound; one
that overruns it is cancelled and left behind, with a log line naming where it waited, so
the steps after it still run. The step runs as a task of its own: even a library that
swallows a cancel cannot hold up the stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

# how long a step that overran its bound gets to unwind after its cancel
UNWIND_SECONDS = 1.0


async def bounded(what: str, step: Awaitable[object], seconds: float, log: logging.Logger) -> bool:
    """Await `step` for at most `seconds`; True if it finished without error.

    A failure or a timeout is logged (class and message only: tracebacks of network errors
    can quote URLs), never raised, so that the caller goes on to its next step.
    """
    task = asyncio.ensure_future(step)
    started = time.monotonic()
    try:
        done, _ = await asyncio.wait((task,), timeout=seconds)
    except BaseException:
        task.cancel()
        raise
    if not done:
        log.error(
            "could not %s within %.0fs; cancelled it while it waited at %s",
            what,
            seconds,
            awaiting(task),
        )
        task.cancel()
        await asyncio.wait((task,), timeout=UNWIND_SECONDS)
        return False
    if task.cancelled():
        log.error("could not %s: it was cancelled", what)
        return False
    if (exc := task.exception()) is not None:
        log.error("could not %s: %s: %s", what, exc.__class__.__name__, exc)
        return False
    log.debug("%s: %.3fs", what, time.monotonic() - started)
    return True


def awaiting(task: asyncio.Task[object], depth: int = 3) -> str:
    """Where a task waits: the innermost `depth` calls of the chain of coroutines (and async
    generators) it awaits, outermost first, as `file:line in function`."""
    calls: list[str] = []
    awaited: object = task.get_coro()
    while awaited is not None:
        frame = next(
            (
                getattr(awaited, name)
                for name in ("cr_frame", "ag_frame", "gi_frame")
                if getattr(awaited, name, None) is not None
            ),
            None,
        )
        if frame is not None:
            calls.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = next(
            (
                getattr(awaited, name)
                for name in ("cr_await", "ag_await", "gi_yieldfrom")
                if getattr(awaited, name, None) is not None
            ),
            None,
        )
    return " → ".join(calls[-depth:]) or "?"
