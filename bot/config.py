"""Configuration: read once from the environment (or a ``.env`` file) into a frozen ``Settings``.

This is the only module that reads the environment. Everything else receives ``Settings`` as an argument.
A bad value raises ``ConfigError`` with one line naming the variable and what is expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import LogFormat

DEFAULT_DATABASE_URL = "sqlite:///jobgate.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


DEFAULT_TIME_LIMIT = timedelta(hours=1)
DEFAULT_MAX_PENDING_PER_USER = 20
BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "amqp", "amqps", "pyamqp")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message is one line naming the variable."""


class ExecutorKind(StrEnum):
    """Where job code runs (``JOBGATE_EXECUTOR``).

    LOCAL: worker processes that ``jobgate serve`` starts and supervises on its own machine (no broker).
    CELERY: ``jobgate worker`` processes on any machine, fed through a Celery broker.
    """

    LOCAL = "local"
    CELERY = "celery"


def default_workers() -> int:
    """The default number of worker processes: one per CPU, at least 2."""
    return max(2, os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything jobgate is configured with. Build it with ``Settings.from_env``; tests build it directly."""

    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    jobs_paths: tuple[Path, ...] = ()
    policy_file: Path | None = None
    approval_channel: str | None = None
    time_zone: str = "UTC"
    misfire_grace: timedelta = field(default=timedelta(hours=1))
    executor: ExecutorKind = ExecutorKind.LOCAL
    workers: int = field(default_factory=default_workers)
    celery_broker_url: str | None = None
    default_time_limit: timedelta = field(default=DEFAULT_TIME_LIMIT)
    shutdown_grace: timedelta = field(default=timedelta(seconds=30))
    max_pending_per_user: int = DEFAULT_MAX_PENDING_PER_USER
    log_format: LogFormat = LogFormat.TEXT
    access_log: bool = False

    @property
    def slack_enabled(self) -> bool:
        """True when jobgate can both verify Slack's requests and call the Web API."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, cwd: Path | None = None) -> Settings:
        """Read settings from ``environ``, falling back to a ``.env`` file in ``cwd`` for unset variables.

        Args:
            environ: the process environment (or a test's dict).
            cwd: the working directory, for ``.env``, ``./jobs`` and ``./policy.yml``; default the current one.

        Raises:
            ConfigError: a value is malformed; the message names the variable and what is expected.
        """
        base = cwd or Path.cwd()
        env: dict[str, str] = {}
        dotenv = base / ".env"
        if dotenv.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update({k: v for k, v in environ.items() if k.startswith(("SLACK_", "JOBGATE_"))})

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        executor = _executor(get("JOBGATE_EXECUTOR"))
        broker_url = _broker_url(get("JOBGATE_CELERY_BROKER_URL"))
        if executor is ExecutorKind.CELERY and broker_url is None:
            raise ConfigError(
                "JOBGATE_EXECUTOR=celery needs JOBGATE_CELERY_BROKER_URL; set it to the Celery broker, e.g. "
                "redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//"
            )
        return cls(
            database_url=_database_url(get("JOBGATE_DATABASE_URL") or DEFAULT_DATABASE_URL),
            slack_bot_token=_token(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", "xoxb-"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=_token(get("SLACK_APP_TOKEN"), "SLACK_APP_TOKEN", "xapp-"),
            slack_api_url=_api_url(get("JOBGATE_SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            jobs_paths=jobs_paths(get("JOBGATE_JOBS_PATH"), base),
            policy_file=_policy_file(get("JOBGATE_POLICY_FILE"), base),
            approval_channel=_channel(get("JOBGATE_APPROVAL_CHANNEL")),
            time_zone=_time_zone(get("JOBGATE_TIME_ZONE") or "UTC"),
            misfire_grace=_seconds(get("JOBGATE_MISFIRE_GRACE"), "JOBGATE_MISFIRE_GRACE", default=3600),
            executor=executor,
            workers=_workers(get("JOBGATE_WORKERS")),
            celery_broker_url=broker_url,
            default_time_limit=_time_limit(get("JOBGATE_DEFAULT_TIME_LIMIT")),
            shutdown_grace=_seconds(get("JOBGATE_SHUTDOWN_GRACE"), "JOBGATE_SHUTDOWN_GRACE", default=30),
            max_pending_per_user=_max_pending(get("JOBGATE_MAX_PENDING_PER_USER")),
            log_format=_log_format(get("JOBGATE_LOG_FORMAT")),
            access_log=_switch(get("JOBGATE_ACCESS_LOG"), "JOBGATE_ACCESS_LOG"),
        )


def _database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(
            f"JOBGATE_DATABASE_URL: {value!r} is not a database URL; expected e.g. sqlite:///jobgate.db "
            "or postgresql+psycopg://user@host:5432/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"JOBGATE_DATABASE_URL: {backend!r} is not supported; use sqlite:/// or postgresql://")
    driver = url.get_driver_name()
    if backend == "postgresql" and url.drivername != "postgresql" and driver != "psycopg":
        fixed = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise ConfigError(f"JOBGATE_DATABASE_URL: the driver {driver!r} is not used by jobgate, which connects with "
                          f"psycopg 3; use {fixed}")
    if backend == "sqlite":
        if driver != "pysqlite":
            fixed = url.set(drivername="sqlite").render_as_string(hide_password=True)
            raise ConfigError(f"JOBGATE_DATABASE_URL: the driver {driver!r} is not used by jobgate; use {fixed}")
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().absolute().parent
            if not folder.is_dir():
                raise ConfigError(f"JOBGATE_DATABASE_URL: the folder {str(folder)!r} of the SQLite database does not "
                                  "exist; create it first or choose another path")
    if backend == "postgresql" and url.drivername == "postgresql":
        # The plain scheme means psycopg2 to SQLAlchemy; jobgate ships psycopg 3.
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _token(value: str | None, name: str, prefix: str) -> str | None:
    if value is not None and not value.startswith(prefix):
        raise ConfigError(f"{name}: expected a token starting with {prefix!r}")
    return value


def _api_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"JOBGATE_SLACK_API_URL: {value!r} is not an http(s) URL; expected e.g. https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def jobs_paths(value: str | None, base: Path) -> tuple[Path, ...]:
    """The folders of ``JOBGATE_JOBS_PATH`` (``:``-separated, relative to ``base``), or ``base/jobs`` when unset and
    it exists.

    Raises:
        ConfigError: a folder named does not exist.
    """
    if value is None:
        default = base / "jobs"
        return (default,) if default.is_dir() else ()
    paths = []
    for part in value.split(":"):
        if not part.strip():
            continue
        path = Path(part.strip())
        path = path if path.is_absolute() else base / path
        if not path.is_dir():
            raise ConfigError(f"JOBGATE_JOBS_PATH: {part.strip()!r} is not a directory")
        paths.append(path)
    return tuple(paths)


def _policy_file(value: str | None, base: Path) -> Path | None:
    if value is None:
        default = base / "policy.yml"
        return default if default.is_file() else None
    path = Path(value)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"JOBGATE_POLICY_FILE: {value!r} does not exist; expected a YAML permissions file")
    return path


def _channel(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
        raise ConfigError(
            f"JOBGATE_APPROVAL_CHANNEL: {value!r} is not a Slack channel ID; expected an ID like C0123ABCD "
            "(open the channel's details in Slack to copy it)"
        )
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"JOBGATE_TIME_ZONE: {value!r} is not an IANA time zone; expected e.g. Europe/Berlin or UTC"
        ) from None
    return value


def _executor(value: str | None) -> ExecutorKind:
    if value is None:
        return ExecutorKind.LOCAL
    try:
        return ExecutorKind(value.lower())
    except ValueError:
        raise ConfigError(f"JOBGATE_EXECUTOR: {value!r} is not an executor; expected local or celery") from None


def _log_format(value: str | None) -> LogFormat:
    if value is None:
        return LogFormat.TEXT
    try:
        return LogFormat(value.lower())
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ConfigError(f"JOBGATE_LOG_FORMAT: {shown!r} is not a log format; expected text (readable lines) or "
                          "json (one JSON object per line)") from None


_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def _switch(value: str | None, name: str) -> bool:
    if value is None or value.lower() in _OFF:
        return False
    if value.lower() in _ON:
        return True
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ConfigError(f"{name}: {shown!r} is not on or off; expected 1 (or true, yes, on) or 0 (or false, no, off)")


def _broker_url(value: str | None) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in BROKER_SCHEMES or not (parsed.netloc or parsed.path):
        raise ConfigError(
            f"JOBGATE_CELERY_BROKER_URL: {value!r} is not a broker URL; expected e.g. redis://127.0.0.1:6379/0 "
            "or amqp://guest:guest@127.0.0.1:5672//"
        )
    return value


def _time_limit(value: str | None) -> timedelta:
    if value is None:
        return DEFAULT_TIME_LIMIT
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"JOBGATE_DEFAULT_TIME_LIMIT: {value!r} is not a time limit; expected a whole number of seconds >= 1"
        )
    return timedelta(seconds=int(value))


def _workers(value: str | None) -> int:
    if value is None:
        return default_workers()
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise ConfigError(f"JOBGATE_WORKERS: {value!r} is not a number of workers; expected a whole number 1-256")
    return int(value)


def _max_pending(value: str | None) -> int:
    if value is None:
        return DEFAULT_MAX_PENDING_PER_USER
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"JOBGATE_MAX_PENDING_PER_USER: {value!r} is not a valid limit; expected a whole number >= 1, "
            f"e.g. {DEFAULT_MAX_PENDING_PER_USER}"
        )
    return int(value)


def _seconds(value: str | None, name: str, *, default: int) -> timedelta:
    if value is None:
        return timedelta(seconds=default)
    try:
        seconds = int(value)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ConfigError(f"{name}: {value!r} is not a number of seconds; expected a whole number >= 0")
    return timedelta(seconds=seconds)
