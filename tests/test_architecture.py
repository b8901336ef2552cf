"""The layers of DESIGN.md, enforced by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

RULES: dict[str, tuple[str, ...]] = {
    "bot/domain": ("slack_bolt", "slack_sdk", "sqlalchemy", "storage", "handlers", "bot.services", "bot.app",
                   "fastapi", "starlette", "alembic"),
    "storage": ("slack_bolt", "slack_sdk", "handlers", "fastapi", "starlette"),
    "bot/services": ("slack_bolt", "slack_sdk", "handlers", "sqlalchemy", "fastapi", "starlette"),
    "bot/scheduler.py": ("slack_bolt", "slack_sdk", "handlers", "fastapi", "starlette"),
    "bot/executor": ("slack_bolt", "slack_sdk", "handlers", "fastapi", "starlette"),
    "handlers": ("sqlalchemy", "storage"),
    # What a local worker process imports: job code runs there, never the database, Slack or the web.
    "bot/executor/orders.py": ("sqlalchemy", "storage", "slack_bolt", "slack_sdk", "handlers", "fastapi", "celery"),
    "bot/executor/execution.py": ("sqlalchemy", "storage", "slack_bolt", "slack_sdk", "handlers", "fastapi",
                                  "celery"),
    "bot/executor/worker.py": ("sqlalchemy", "storage", "slack_bolt", "slack_sdk", "handlers", "fastapi", "celery"),
    "bot/executor/pool.py": ("sqlalchemy", "storage", "slack_bolt", "slack_sdk", "handlers", "fastapi", "celery"),
    "bot/executor/slots.py": ("sqlalchemy", "storage", "slack_bolt", "slack_sdk", "handlers", "fastapi", "celery"),
    # The playground drives the real app from outside, as Slack does: it builds it (bot.app, bot.slack) but reaches
    # neither the database nor the listeners directly.
    "bot/playground": ("sqlalchemy", "storage", "handlers", "slack_bolt"),
    # The Slack simulator stands for Slack itself, shared with the tests: the standard library only.
    **{f"bot/playground/{name}.py": ("sqlalchemy", "storage", "handlers", "slack_bolt", "slack_sdk", "fastapi",
                                     "starlette", "uvicorn", "bot.app", "bot.services", "bot.slack", "bot.domain")
       for name in ("slack_sim", "web_api", "workspace", "slack_limits", "demo")},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files_under(target: str) -> list[Path]:
    path = ROOT / target
    if path.suffix == ".py":
        return [path] if path.exists() else []
    return sorted(path.rglob("*.py"))


@pytest.mark.parametrize("target", sorted(RULES))
def test_layer_imports_only_what_it_may(target: str) -> None:
    forbidden = RULES[target]
    offences = []
    for path in files_under(target):
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_the_domain_exists_and_is_checked() -> None:
    assert len(files_under("bot/domain")) >= 7


def test_only_config_reads_the_environment() -> None:
    readers = []
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("storage").rglob("*.py"),
                 *ROOT.joinpath("handlers").rglob("*.py")]:
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source:
            readers.append(path.relative_to(ROOT).as_posix())
    assert set(readers) <= {"bot/config.py", "bot/cli.py"}


def test_orm_rows_stay_in_storage() -> None:
    """Only storage (and its own contract tests) sees the ORM classes; everyone else gets domain records."""
    offences = []
    for folder in ("bot", "handlers", "bench", "tests"):
        for path in sorted(ROOT.joinpath(folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "tests" / "storage"):
                continue
            if "storage.models" in imported_modules(path):
                offences.append(path.relative_to(ROOT).as_posix())
    assert offences == []


SQLALCHEMY_OUTSIDE_STORAGE = {
    "bot/config.py": {"sqlalchemy.engine", "sqlalchemy.exc"},  # checks that a database URL parses
    "bot/cli.py": {"sqlalchemy.exc"},  # tells "cannot reach the database" from other database errors
}


def test_no_sql_outside_storage() -> None:
    """Only ``storage/`` talks to the database; elsewhere SQLAlchemy is imported only to read a URL or name an error."""
    offences = []
    for path in [*files_under("bot"), *files_under("handlers")]:
        allowed = SQLALCHEMY_OUTSIDE_STORAGE.get(path.relative_to(ROOT).as_posix(), set())
        for name in imported_modules(path):
            if (name == "sqlalchemy" or name.startswith("sqlalchemy.")) and name not in allowed:
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


LISTENER_MODULES = ("handlers/commands.py", "handlers/actions.py", "handlers/views.py", "handlers/events.py",
                    "handlers/menus.py")
CAUGHT_BY_THE_GUARD = {"Exception", "BaseException", "DomainError"}


@pytest.mark.parametrize("target", LISTENER_MODULES)
def test_listeners_leave_failures_to_the_one_error_path(target: str) -> None:
    """Listeners neither catch failures nor are decorated: ``bot.slack.ListenerGuard`` answers every refusal and every
    unexpected error. A listener may only catch one named refusal it turns into another flow (past due → confirm)."""
    tree = ast.parse((ROOT / target).read_text(), filename=target)
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            for name in names:
                if name is None or (isinstance(name, ast.Name) and name.id in CAUGHT_BY_THE_GUARD):
                    offences.append(f"line {node.lineno} catches {ast.unparse(name) if name else 'everything'}")
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("handle_") and node.decorator_list:
            offences.append(f"{node.name} is decorated")
    assert offences == []


def test_something_went_wrong_is_written_once() -> None:
    places = [path.relative_to(ROOT).as_posix() for path in [*files_under("bot"), *files_under("handlers")]
              if "went wrong" in path.read_text()]
    assert places == ["bot/slack.py"]
