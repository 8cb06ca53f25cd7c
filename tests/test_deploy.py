"""deploy/: every command the container, compose and systemd start is one this file runs.

The image cannot be built here, so its commands are checked where they can be: the
Dockerfile, compose.yaml and the systemd unit are parsed, every command they start (CMD, the
migrate service, ExecStartPre, ExecStart, the HEALTHCHECK's one-liner) must be one of the
three below, and each of the three is run, exactly as written, by a test of this file: the
migrations and `coopbot run` against a real database, the health check against a server
that answers /healthz as the bot does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import sys
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from bot.db.engine import create_engine
from bot.db.migrate import MIGRATIONS_DIR
from emulator import BotApiEmulator
from testbed.harness import ADMIN_ID, TOKEN

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
MIGRATE = ("coopbot", "db", "upgrade")
RUN = ("coopbot", "run")
# where deploy/README.md installs the project for systemd
SYSTEMD_VENV_BIN = "/opt/coopbot/venv/bin"
# a hang guard, not a speed target
LIMIT = 60.0


# -- reading the files -----------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        name, _, arguments = (pending + line).partition(" ")
        instructions.append((name.upper(), arguments.strip()))
        pending = ""
    assert not pending, "deploy/Dockerfile ends inside a continued line"
    return instructions


def only(name: str) -> str:
    found = [arguments for instruction, arguments in dockerfile() if instruction == name]
    assert len(found) == 1, f"deploy/Dockerfile should have one {name}, has {len(found)}"
    return found[0]


def image_cmd() -> tuple[str, ...]:
    return tuple(json.loads(only("CMD")))  # exec form: no shell between docker and coopbot


def image_healthcheck() -> tuple[str, ...]:
    options, _, command = only("HEALTHCHECK").partition("CMD ")
    assert "--timeout=" in options and "--interval=" in options
    return tuple(json.loads(command))


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def our_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the image of deploy/Dockerfile."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def unit() -> dict[str, dict[str, list[str]]]:
    """deploy/coopbot.service as {section: {key: [values]}} (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (DEPLOY / "coopbot.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), "keep the unit's lines unbroken, this test reads them"
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit_command(line: str) -> tuple[str, ...]:
    argv = shlex.split(line)
    # systemd's prefixes (-, @, +, !) would change how the command runs
    assert argv[0].startswith("/"), line
    directory, _, name = argv[0].rpartition("/")
    assert directory == SYSTEMD_VENV_BIN, line
    return (name, *argv[1:])


def started_commands() -> dict[str, tuple[str, ...]]:
    """Every command the deployment starts, by where it is written."""
    commands = {"Dockerfile CMD": image_cmd(), "Dockerfile HEALTHCHECK": image_healthcheck()}
    for name, service in our_services().items():
        assert "entrypoint" not in service, f"{name}: an entrypoint would change every command"
        commands[f"compose {name}"] = tuple(service.get("command") or image_cmd())
        check = service.get("healthcheck")
        if check and not check.get("disable"):
            commands[f"compose {name} healthcheck"] = tuple(check["test"][1:])
    for key, values in unit()["Service"].items():
        if key.startswith("Exec"):
            for n, value in enumerate(values):
                commands[f"coopbot.service {key}[{n}]"] = unit_command(value)
    return commands


# -- running them exactly --------------------------------------------------------------------


def _program(name: str) -> str:
    if name == "python":
        return sys.executable
    assert name == "coopbot", name
    script = Path(sysconfig.get_path("scripts")) / "coopbot"
    assert script.exists(), f"{script} missing: install the project (pip install -e .)"
    return str(script)


def _environment(env: dict[str, str]) -> dict[str, str]:
    settings = ("BOT_", "DATABASE_", "DELIVERY_", "TELEGRAM_", "ADMIN_", "WEBHOOK_", "METRICS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(settings)}
    return {**clean, "PYTHONPATH": str(ROOT), **env}


async def start(
    argv: tuple[str, ...], env: dict[str, str], cwd: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        _program(argv[0]),
        *argv[1:],
        env=_environment(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(argv: tuple[str, ...], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await start(argv, env, cwd)
    out, err = await asyncio.wait_for(process.communicate(), LIMIT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def as_deployed(database_url: str) -> str:
    """The URL as an operator writes it: `postgresql://…` (compose's), not the driver's."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def schema_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


# -- the commands ----------------------------------------------------------------------------


def test_every_started_command_is_one_this_file_runs() -> None:
    tested = {MIGRATE, RUN, image_healthcheck()}
    started = started_commands()
    untested = {where: argv for where, argv in started.items() if argv not in tested}
    assert not untested, f"started but never run by a test: {untested}"
    assert set(started.values()) == tested, "a test runs a command nothing starts any more"
    assert started["Dockerfile CMD"] == RUN
    assert started["compose migrate"] == MIGRATE
    assert started["coopbot.service ExecStartPre[0]"] == MIGRATE
    assert started["coopbot.service ExecStart[0]"] == RUN
    assert image_healthcheck()[:2] == ("python", "-c")


async def test_the_migrations_command_brings_a_real_database_to_the_head(
    database_url: str, tmp_path: Path
) -> None:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert await schema_revision(database_url) is None
    env = {"DATABASE_URL": as_deployed(database_url)}
    code, out, err = await run(MIGRATE, env, tmp_path)
    assert code == 0, err
    assert "Database schema is up to date." in out
    assert await schema_revision(database_url) == head
    # systemd runs it before every start, compose on every `up`
    code, out, err = await run(MIGRATE, env, tmp_path)
    assert code == 0, err
    assert await schema_revision(database_url) == head


async def test_the_run_command_serves_and_stops_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    # polling mode against the emulator: the same command as the image's and the unit's
    async with BotApiEmulator(token=TOKEN) as emu:
        env = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emu.base_url,
            "DATABASE_URL": as_deployed(database_url),
            "ADMIN_IDS": str(ADMIN_ID),
        }
        process = await start(RUN, env, tmp_path)
        try:
            emu.send_message("/help", user_id=ADMIN_ID)
            await emu.wait_for(lambda: emu.messages(ADMIN_ID), LIMIT, "an answer to /help")
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), LIMIT)
    # systemd (Restart=on-failure) and compose would restart anything but a clean exit
    assert process.returncode == 0, err.decode()
    assert " ERROR " not in err.decode() and "Traceback" not in err.decode()


@contextlib.asynccontextmanager
async def health_server(status: int) -> AsyncIterator[tuple[int, list[str]]]:
    """A server on 127.0.0.1 answering GET /healthz with `status`: (port, paths asked)."""
    asked: list[str] = []

    async def healthz(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(status=status, text="ok" if status == 200 else "not ok")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield int(runner.addresses[0][1]), asked
    finally:
        await runner.cleanup()


async def test_the_healthcheck_passes_on_a_healthz_200_in_either_mode(tmp_path: Path) -> None:
    check = image_healthcheck()
    async with health_server(200) as (port, asked):
        webhook = {"WEBHOOK_URL": "https://bot.example.org/telegram"}
        code, _, err = await run(check, {**webhook, "WEBHOOK_LISTEN": f"0.0.0.0:{port}"}, tmp_path)
        assert code == 0, err
        assert asked == ["/healthz"]
        # polling mode: METRICS_LISTEN's port, whatever WEBHOOK_LISTEN says
        polling = {"WEBHOOK_LISTEN": "0.0.0.0:9", "METRICS_LISTEN": f"127.0.0.1:{port}"}
        code, _, err = await run(check, polling, tmp_path)
        assert code == 0, err
        assert asked == ["/healthz", "/healthz"]


async def test_the_healthcheck_fails_on_an_error_status_or_no_listener(tmp_path: Path) -> None:
    check = image_healthcheck()
    webhook = {"WEBHOOK_URL": "https://bot.example.org/telegram"}
    async with health_server(503) as (port, asked):
        code, _, _ = await run(check, {**webhook, "WEBHOOK_LISTEN": f"0.0.0.0:{port}"}, tmp_path)
        assert code == 1 and asked == ["/healthz"]
    # the server is gone: nothing listens on its port
    code, _, _ = await run(check, {**webhook, "WEBHOOK_LISTEN": f"0.0.0.0:{port}"}, tmp_path)
    assert code == 1


# -- the rest of the deployment --------------------------------------------------------------


def test_the_image() -> None:
    assert only("FROM") == "python:3.11-slim"
    user = only("USER").split(":")[0]
    assert user not in {"root", "0"}
    installs = [a for i, a in dockerfile() if i == "RUN" and "pip install" in a]
    assert len(installs) == 1 and "[dev]" not in installs[0] and " -e " not in installs[0]
    assert not [a for i, a in dockerfile() if i == "RUN" and "apt-get" in a]
    assert not [i for i, _ in dockerfile() if i == "ENTRYPOINT"]
    assert only("EXPOSE") == "8080"
    assert image_env()["WEBHOOK_LISTEN"] == "0.0.0.0:8080"


def test_compose_waits_for_a_healthy_database_and_the_migration() -> None:
    services = compose()["services"]
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["healthcheck"]["test"][:4] == ["CMD", "pg_isready", "-h", "127.0.0.1"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    ours = our_services()
    assert ours["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    workers = {name: s for name, s in ours.items() if name != "migrate"}
    assert sorted(workers) == ["bot1", "bot2"]
    published = []
    for worker in workers.values():
        assert worker["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
        }
        (port,) = worker["ports"]
        assert port.startswith("127.0.0.1:") and port.endswith(":8080"), port
        published.append(port.rsplit(":", 1)[0])
    for service in ours.values():
        assert service["env_file"] == ".env"
        assert service["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0:8080"
        url = service["environment"]["DATABASE_URL"]
        assert re.fullmatch(
            r"postgresql://coopbot:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/coopbot", url
        )
        assert (ROOT / service["build"]["dockerfile"]).exists()
    # Prometheus scrapes what compose publishes
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    (targets,) = job["static_configs"]
    assert sorted(targets["targets"]) == sorted(published)


def test_the_systemd_unit() -> None:
    service = unit()["Service"]
    assert service["EnvironmentFile"] == ["/etc/coopbot/coopbot.env"]
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["TimeoutStopSec"] == ["15"]
    assert service["User"] == ["coopbot"]
    assert [unit_command(line) for line in service["ExecStartPre"]] == [MIGRATE]
    assert [unit_command(line) for line in service["ExecStart"]] == [RUN]
    assert unit()["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_alert_rules() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    (group,) = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert sorted(rules) == [
        "CoopbotDeliveryBacklogGrowing",
        "CoopbotNoLeader",
        "CoopbotTelegramRateLimited",
    ]
    backlog = rules["CoopbotDeliveryBacklogGrowing"]["expr"]
    assert "deriv(coopbot_delivery_backlog" in backlog and "> 1000" in backlog
    leader = rules["CoopbotNoLeader"]
    assert "sum(coopbot_leader" in leader["expr"] and leader["for"] == "1m"
    assert "coopbot_telegram_retry_after_total" in rules["CoopbotTelegramRateLimited"]["expr"]
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize("name", ["compose.yaml", "prometheus.yml", "alerts.yml"])
def test_the_yaml_files_parse(name: str) -> None:
    assert isinstance(yaml.safe_load((DEPLOY / name).read_text()), dict)
