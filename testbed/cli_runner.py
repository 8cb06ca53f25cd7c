"""`coopbot` run as people run it: a child process with its own environment."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the bot's own settings: a child process gets only those its caller gives it, never the
# ones of the shell the tests run in
BOT_SETTINGS = (
    "BOT_",
    "DATABASE_",
    "DELIVERY_",
    "WEBHOOK_",
    "METRICS_",
    "TELEGRAM_",
    "ADMIN_",
    "REDIS_",
)


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment for `python -m bot …` from this checkout, with exactly `settings`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(BOT_SETTINGS)}
    return {**inherited, "PYTHONPATH": str(ROOT), **settings}


async def run_coopbot(*args: str, env: dict[str, str], stdin: bytes = b"", limit: float = 60):
    """(exit code, stdout, stderr) of `python -m bot ARGS`, without the caller's token or
    database; `limit` bounds a hang, it is not a speed target."""
    clean = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=env.get("CWD", str(ROOT)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), limit)
    return process.returncode, out.decode(), err.decode()
