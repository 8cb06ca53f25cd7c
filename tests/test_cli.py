"""`coopbot` as people run it: clear one-line failures, a working seed, no token in logs."""

from __future__ import annotations

from pathlib import Path

from emulator import BotApiEmulator
from testbed.cli_runner import run_coopbot as _coopbot
from testbed.harness import TOKEN
from testbed.soak import passed, soak

ROOT = Path(__file__).resolve().parent.parent


async def test_run_without_token_points_to_the_sandbox(tmp_path: Path) -> None:
    code, _, err = await _coopbot("run", env={"CWD": str(tmp_path)})
    assert code == 2
    assert "BOT_TOKEN is not set" in err and "coopbot sandbox" in err
    assert "Traceback" not in err


async def test_rejected_token_is_one_clear_line(tmp_path: Path) -> None:
    async with BotApiEmulator(token=TOKEN) as emu:
        wrong = "999999999:WRONG-token-WRONG-token-WRONG-token"
        code, _, err = await _coopbot(
            "run",
            env={
                "CWD": str(tmp_path),
                "BOT_TOKEN": wrong,
                "TELEGRAM_API_URL": emu.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "LOG_LEVEL": "DEBUG",
            },
        )
    assert code == 1
    assert "Telegram rejected BOT_TOKEN (401 Unauthorized)" in err
    assert "Traceback" not in err
    assert wrong not in err and "WRONG-token" not in err


async def test_unreachable_api_is_one_clear_line(tmp_path: Path) -> None:
    code, _, err = await _coopbot(
        "run",
        env={
            "CWD": str(tmp_path),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        },
    )
    assert code == 1
    assert "Cannot reach the Telegram Bot API at http://127.0.0.1:9/bot" in err
    assert "Traceback" not in err and TOKEN not in err


async def test_unusable_database_url_names_the_setting(tmp_path: Path) -> None:
    for url in ("mysql+nosuchdriver://x/y", f"sqlite:///{tmp_path}/missing/dir/bot.db"):
        code, _, err = await _coopbot(
            "db", "upgrade", env={"CWD": str(tmp_path), "DATABASE_URL": url}
        )
        assert code == 1, err
        # the one line and nothing after it: no traceback from a thread (aiosqlite's, when
        # the event loop closed before that thread had ended)
        assert err.splitlines() == [err.strip()], err
        assert err.startswith("coopbot: DATABASE_URL is not usable"), err


async def test_seed_and_upgrade_by_hand(tmp_path: Path) -> None:
    env = {"CWD": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    assert (await _coopbot("db", "upgrade", env=env))[0] == 0
    code, out, _ = await _coopbot("seed", env=env)
    assert code == 0 and "Loaded 10 sample items" in out
    code, out, _ = await _coopbot("seed", env=env)
    assert "Loaded 0 sample items (10 already there)" in out


async def test_sandbox_transcript_from_a_pipe(tmp_path: Path) -> None:
    code, out, err = await _coopbot(
        "sandbox",
        env={"CWD": str(tmp_path)},
        stdin=b"/latest 1\n[1]\n[1]\n/category decent\n/subscribe news\n"
        b"/add News | Piped <b> | https://p.example/1\n",
    )
    assert code == 0, err
    assert "you: /latest 1" in out
    assert "Japan Workers’ Co-operative Union" in out  # seeded on first start
    assert "[1] More ›" in out
    assert "The 2017 edition of the ITC ILO Gender Academy" in out  # the page behind [1]
    assert "How decent work can transform cotton production" in out
    assert "Published as #11" in out and "Piped <b>" in out
    assert "(button [1] is no longer on its message)" in out  # the More button was used up
    # what was typed, the admin's preview, then the push to the subscribed sandbox user
    assert out.count("Piped <b>") == 3
    assert "🔔 Subscribed news" in out
    assert (tmp_path / "coopbot-sandbox.db").exists()


async def test_sigterm_stops_the_bot_cleanly_every_time() -> None:
    # bench/soak.py in small, on SQLite: `coopbot run`, traffic, SIGTERM while an item is going
    # out; twice, then one more run sends what was left. Every exit has code 0 and nothing at
    # ERROR in the log, and every subscriber ends with the item exactly once. (The limit is
    # for a hang, not a speed target: exits take about half a second.)
    figures = await soak(cycles=2, subscribers=12, server=None, hang_seconds=60)
    assert passed(figures), figures
