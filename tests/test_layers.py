"""The layers run one way: handlers → services → db, with the delivery engine beside them,
wired together only by the composition root (bot/app.py and bot/lifecycle.py); and the tests
and the benchmarks stand apart, sharing only testbed/. Inside the sender, the runner knows
no kind of send, a kind knows no other kind, the store knows nothing of Telegram, and one
module reads Telegram's errors. Read from the code itself, so a shortcut through a layer
fails here rather than in review."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOT = ("bot/app.py", "bot/lifecycle.py")  # wiring, then starting and stopping
# the one module of bot/delivery that catches telegram.error classes (the rule for them)
TELEGRAM_ERRORS = "bot/delivery/telegram_errors.py"
JOBS = "bot/jobs.py"  # the one module that registers JobQueue jobs
MAX_LINES = 450
TABLES = ("bot/texts.py",)  # tables, not logic: exempt from MAX_LINES


@dataclass(frozen=True)
class Rule:
    folder: str  # files under it, relative to the repository
    forbidden: tuple[str, ...]  # modules (and their submodules) they must not import
    why: str


RULES = (
    Rule(
        "bot/delivery",
        ("bot.services", "bot.render", "handlers", "bot.config"),
        "the engine is handed its renderer, hooks and options by the composition root",
    ),
    Rule(
        "bot/db",
        ("bot.config", "bot.services", "bot.delivery", "handlers"),
        "the database layer is the bottom: it knows no one above it",
    ),
    Rule(
        "bot/services",
        ("handlers", "telegram.ext"),
        "services know nothing of PTB's application or of the handlers that call them",
    ),
    Rule(
        "handlers",
        ("sqlalchemy", "bot.db"),
        "handlers parse, call a service and reply: sessions and SQL live in bot/services",
    ),
    Rule("bot", ("handlers",), "only the composition root wires the handlers in"),
    Rule(
        "bot/delivery/kinds",
        ("bot.delivery.engine", "bot.delivery.kinds"),
        "a kind says how to claim, perform and record one unit: it knows no other kind",
    ),
    *(
        Rule(
            f"bot/delivery/{module}.py",
            ("bot.delivery.kinds", "bot.delivery.engine"),
            "the runner and its parts know no kind of send: the engine hands them each one",
        )
        for module in ("runner", "calls", "chat_life", "telegram_errors", "stopping")
    ),
    Rule(
        "bot/delivery/store",
        ("telegram", "bot.delivery.runner", "bot.delivery.kinds", "bot.delivery.engine"),
        "the sender's store is SQL only: it knows nothing of sending",
    ),
    Rule("tests", ("bench",), "what tests share with the benchmarks lives in testbed/"),
    Rule("bench", ("tests",), "what benchmarks share with the tests lives in testbed/"),
    Rule("testbed", ("tests", "bench"), "testbed/ serves both, so it depends on neither"),
)
TOPS = ("bot", "handlers", "tests", "bench", "testbed")  # the folders the rules read
# bot/services may use the delivery package's public API (its __init__), not its insides
SERVICES_DELIVERY_API = "bot.delivery"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module the file imports, at the top or inside functions. `from a import b`
    counts as `a` and `a.b` (b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def calls(path: Path, name: str) -> list[int]:
    """Lines where the file calls `name(...)` or `something.name(...)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called == name:
                lines.append(node.lineno)
    return lines


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    found: list[str] = []
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            modules = imported_modules(path, root)
            for rule in RULES:
                if not (where == rule.folder or where.startswith(rule.folder + "/")):
                    continue
                if rule.folder == "bot" and where in COMPOSITION_ROOT:
                    continue
                for module in sorted(modules):
                    if any(_within(module, forbidden) for forbidden in rule.forbidden):
                        found.append(f"{where} imports {module}: {rule.why}")
            if where.startswith("bot/services/"):
                inside = [
                    m
                    for m in modules
                    if _within(m, SERVICES_DELIVERY_API)
                    and m != SERVICES_DELIVERY_API
                    and not _is_public_name(root, m)
                ]
                found.extend(
                    f"{where} imports {m}: services use bot.delivery's public API only"
                    for m in sorted(inside)
                )
            if where.startswith("handlers/"):
                found.extend(
                    f"{where}:{line} calls utcnow: the time comes from a service"
                    for line in calls(path, "utcnow")
                )
                found.extend(
                    f"{where} imports {name}: shared code is a public name of a shared module"
                    for name in private_handler_imports(path)
                )
            if where.startswith("bot/delivery/") and where != TELEGRAM_ERRORS:
                found.extend(
                    f"{where}:{line} catches {name}: {TELEGRAM_ERRORS} is the one rule for them"
                    for line, name in caught_telegram_errors(path)
                )
            if where != JOBS and where.startswith(("bot/", "handlers/")):
                found.extend(
                    f"{where}:{line} registers a job: every job lives in {JOBS}"
                    for name in ("run_repeating", "run_once", "run_daily", "run_custom")
                    for line in calls(path, name)
                )
    return found


def private_handler_imports(path: Path) -> list[str]:
    """`from handlers.x import _name`: a handler borrowing another's private helper."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handlers")
        for alias in node.names
        if alias.name.startswith("_")
    ]


def caught_telegram_errors(path: Path) -> list[tuple[int, str]]:
    """`except` clauses that name a class of telegram.error (imported by name, or as
    `telegram.error.X`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "telegram.error"
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            for part in ast.walk(node.type):
                if isinstance(part, ast.Name) and part.id in names:
                    found.append((node.lineno, part.id))
                elif isinstance(part, ast.Attribute) and ast.unparse(part).startswith(
                    "telegram.error."
                ):
                    found.append((node.lineno, ast.unparse(part)))
    return found


def oversized(root: Path) -> list[str]:
    """Modules of bot/ and handlers/ over MAX_LINES lines (tables excepted)."""
    found = []
    for top in ("bot", "handlers"):
        for path in sorted((root / top).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES and where not in TABLES:
                found.append(f"{where}: {lines} lines (at most {MAX_LINES}: split it by job)")
    return found


def _is_public_name(root: Path, module: str) -> bool:
    """`bot.delivery.X` where X is a name the package exports, not one of its modules."""
    name = module.removeprefix(SERVICES_DELIVERY_API + ".")
    if "." in name:
        return False
    return (
        not (root / "bot" / "delivery" / f"{name}.py").exists()
        and not (root / "bot" / "delivery" / name).is_dir()
    )


def test_the_layers_run_one_way() -> None:
    assert violations(ROOT) == []


def test_no_module_outgrows_a_reading() -> None:
    assert oversized(ROOT) == []


def test_the_size_rule_catches_a_long_module(tmp_path: Path) -> None:
    long = "x = 1\n" * (MAX_LINES + 1)
    root = _tree(
        tmp_path,
        {"bot/delivery/engine.py": long, "bot/texts.py": long, "handlers/ok.py": "x = 1\n"},
    )
    assert oversized(root) == [
        f"bot/delivery/engine.py: {MAX_LINES + 1} lines (at most 450: split it by job)"
    ]


def test_the_sender_keeps_its_inner_rules(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/delivery/kinds/pins.py": "from bot.delivery.kinds.pushes import Pushes\n",
            "bot/delivery/kinds/polls.py": "from bot.delivery.engine import DeliveryEngine\n",
            "bot/delivery/runner.py": "from bot.delivery.kinds.digests import Digests\n",
            "bot/delivery/calls.py": "from bot.delivery import engine\n",
            "bot/delivery/store/pins.py": "from telegram import Bot\n",
            "bot/delivery/kinds/reactions.py": (
                "import telegram.error\n"
                "from telegram.error import Forbidden as Blocked, RetryAfter\n"
                "try:\n    pass\nexcept (Blocked, ValueError):\n    pass\n"
                "try:\n    pass\nexcept telegram.error.BadRequest:\n    pass\n"
            ),
            "bot/delivery/telegram_errors.py": (
                "from telegram.error import TelegramError\n"
                "try:\n    pass\nexcept TelegramError:\n    pass\n"
            ),
            "bot/services/feeds.py": "def f(queue):\n    queue.run_repeating(f, 60)\n",
            "bot/jobs.py": "def f(queue):\n    queue.run_repeating(f, 60)\n",
            "bot/lifecycle.py": "from handlers import menus\n",
            "handlers/search.py": "from handlers.browse import _drop_button\n",
        },
    )
    found = "\n".join(violations(root))
    for expected in (
        "bot/delivery/kinds/pins.py imports bot.delivery.kinds.pushes",
        "bot/delivery/kinds/polls.py imports bot.delivery.engine",
        "bot/delivery/runner.py imports bot.delivery.kinds.digests",
        "bot/delivery/calls.py imports bot.delivery.engine",
        "bot/delivery/store/pins.py imports telegram",
        "bot/delivery/kinds/reactions.py:5 catches Blocked",
        "bot/delivery/kinds/reactions.py:9 catches telegram.error.BadRequest",
        "bot/services/feeds.py:2 registers a job",
        "handlers/search.py imports handlers.browse._drop_button",
    ):
        assert expected in found, (expected, found)
    for fine in ("bot/delivery/telegram_errors.py", "bot/jobs.py", "bot/lifecycle.py"):
        assert not any(line.startswith(fine) for line in found.splitlines()), (fine, found)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in TOPS:
        (tmp_path / package).mkdir(exist_ok=True)
    return tmp_path


def test_each_rule_catches_its_shortcut(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/delivery/engine.py": "from bot.services.news import NewsService\n",
            "bot/delivery/options.py": "from ..config import Settings\n",
            "bot/delivery/store.py": "class DeliveryStore: ...\n",
            "bot/db/engine.py": "def f():\n    import bot.config\n",
            "bot/services/subscriptions.py": "from bot.delivery.store import DeliveryStore\n",
            "bot/services/ok.py": "from bot.delivery import DeliveryStore\n",
            "bot/services/jobs.py": "from telegram.ext import Application\n",
            "bot/cli.py": "from handlers import publishing\n",
            "bot/app.py": "import handlers\n",
            "handlers/publishing.py": (
                "from sqlalchemy.ext.asyncio import AsyncSession\n"
                "from bot.db.base import utcnow\n"
                "when = utcnow()\n"
            ),
        },
    )
    found = "\n".join(violations(root))
    for expected in (
        "bot/delivery/engine.py imports bot.services",
        "bot/delivery/options.py imports bot.config",
        "bot/db/engine.py imports bot.config",
        "bot/services/subscriptions.py imports bot.delivery.store",
        "bot/services/jobs.py imports telegram.ext",
        "bot/cli.py imports handlers",
        "handlers/publishing.py imports sqlalchemy.ext.asyncio",
        "handlers/publishing.py imports bot.db.base",
        "handlers/publishing.py:3 calls utcnow",
    ):
        assert expected in found, (expected, found)
    assert "bot/app.py" not in found  # the composition root may wire anything
    assert "bot/services/ok.py" not in found  # the package's public API is fine


def test_tests_and_benchmarks_share_only_testbed(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "tests/test_fanout.py": "from bench.delivery_kit import publish\n",
            "tests/conftest.py": "import bench.soak\n",
            "bench/soak.py": "def main():\n    from tests.harness import TOKEN\n",
            "testbed/harness.py": "from tests import conftest\n",
            "testbed/soak.py": "from bench.delivery import database\n",
            "tests/test_ok.py": "from testbed.harness import TOKEN\nfrom tests.conftest import x\n",
            "bench/ok.py": "from testbed.delivery_kit import publish\nfrom bench import soak\n",
            "testbed/ok.py": "from testbed.harness import TOKEN\n",
        },
    )
    found = "\n".join(violations(root))
    for expected in (
        "tests/test_fanout.py imports bench.delivery_kit",
        "tests/conftest.py imports bench.soak",
        "bench/soak.py imports tests.harness",
        "testbed/harness.py imports tests",
        "testbed/soak.py imports bench.delivery",
    ):
        assert expected in found, (expected, found)
    for fine in ("tests/test_ok.py", "bench/ok.py", "testbed/ok.py"):
        assert fine not in found, (fine, found)
