"""Wiring: settings in, the parts every jobgate process shares out (``Core``), the use cases over them, and the ASGI
app (``build_app``: Slack, the REST API and ``/healthz``, with the background work in its lifespan).

This module may import anything; it is where the parts meet.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, Response

from bot.config import Settings
from bot.domain.errors import DatabaseUnavailableError
from bot.domain.permissions import Policy, PolicyError
from bot.domain.policy_file import parse_policy
from bot.loops import Wakeups
from bot.metrics import CONTENT_TYPE, Metrics
from bot.registry import JobCatalog
from bot.services import PolicyHolder, ServiceDeps, Services, utcnow
from bot.transient import SensitiveHandover
from storage.db import Database, upgrade

if TYPE_CHECKING:
    from bot.slack_status import SlackStatus

log = logging.getLogger(__name__)


def load_policy(settings: Settings) -> Policy:
    """The permissions policy named by the settings; an empty one when there is no file.

    Raises:
        PolicyError: the file is missing, unreadable or malformed (the message names the file and the entry).
    """
    return read_policy_file(settings.policy_file) if settings.policy_file else Policy.empty()


def read_policy_file(path: Path) -> Policy:
    """Read the permissions file at ``path`` and parse it (the domain parses text; reading files is the edge's job).

    Raises:
        PolicyError: the file is missing or unreadable, or its content is invalid (see ``Policy.from_yaml``).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: the permissions file does not exist") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: the permissions file is not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the permissions file ({exc.strerror or exc})") from None
    return parse_policy(text, source=str(path))


POLICY_INVALID = "permissions file invalid, last good policy in force"
"""What ``/healthz`` says of a permissions file that no longer parses, to a caller who may not see its path."""


class PolicyFileWatcher:
    """Reads the permissions file again when its content changes (``JOBGATE_POLICY_FILE``; no restart needed).

    ``check()`` runs on the background timer every couple of seconds: it reads the file and compares its SHA-256 with
    the one in force (a small file; a hash also catches edits within one mtime tick). A new content that parses is put
    in force at once; one that does not (or a file that vanished) keeps the last good policy, and the error is logged
    once and shown by ``/healthz``.

    Args:
        path: the permissions file.
        holder: where the policy in force is kept.
        text: the content the policy in force was read from (None: read at the first check).
    """

    def __init__(self, path: Path, holder: PolicyHolder, *, text: bytes | None = None) -> None:
        self.path = path
        self.holder = holder
        self.error: str | None = None
        self.reloads = 0
        self._digest = hashlib.sha256(text).hexdigest() if text is not None else None
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Read the file; put a changed, valid policy in force. Returns whether the policy was replaced."""
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except OSError as exc:
                return self._failed(f"{self.path}: cannot read the permissions file ({exc.strerror or exc})", None)
            digest = hashlib.sha256(raw).hexdigest()
            if digest == self._digest:
                return False
            try:
                policy = parse_policy(raw.decode("utf-8"), source=str(self.path))
            except UnicodeDecodeError:
                return self._failed(f"{self.path}: the permissions file is not UTF-8 text", digest)
            except PolicyError as exc:
                return self._failed(str(exc), digest)
            self.holder.replace(policy)
            self._digest = digest
            self.error = None
            self.reloads += 1
            log.info("permissions file %s read again: %d admins, %d permission entries", self.path,
                     len(policy.admins), len(policy.entries))
            return True

    def _failed(self, error: str, digest: str | None) -> bool:
        if error != self.error:
            log.error("%s; the last good policy stays in force", error)
        self.error = error
        if digest is not None:
            self._digest = digest  # not parsed again until it changes again
        return False

    def health(self, *, internals: bool) -> dict[str, Any]:
        """The permissions file as ``/healthz`` shows it: its path and error only with ``internals``."""
        report: dict[str, Any] = {"ok": self.error is None, "reloads": self.reloads}
        if self.error is not None:
            report["error"] = self.error if internals else POLICY_INVALID
        if internals:
            report["file"] = str(self.path)
        return report


@dataclass(frozen=True)
class Core:
    """The parts of one jobgate process: its settings, the use cases' dependencies, and the use cases.

    The background work (dispatcher, executor, notifier) and the edges take what they need from here explicitly.
    """

    settings: Settings
    deps: ServiceDeps
    services: Services
    policy_watcher: PolicyFileWatcher | None = None
    metrics: Metrics | None = None
    """What ``GET /metrics`` shows; the background work and the Slack clients feed it."""

    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def catalog(self) -> JobCatalog:
        return self.deps.catalog

    @property
    def handover(self) -> SensitiveHandover:
        return self.deps.handover

    @property
    def wakeups(self) -> Wakeups:
        return self.deps.wakeups


def build_core(
    settings: Settings,
    *,
    db: Database | None = None,
    policy: Policy | None = None,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = True,
) -> Core:
    """Open the database, apply pending migrations, load the policy, and build the use cases.

    Jobs are not discovered here: ``core.services.management.sync_jobs()`` does that.

    Args:
        settings: jobgate's settings.
        db: an already opened database (tests share one); opened from ``settings.database_url`` otherwise.
        policy: the permissions policy; read from ``settings.policy_file`` otherwise, and then read again whenever
            the file changes (``core.policy_watcher``, checked by the background work).
        clock: where ``now`` comes from.
        migrate: apply pending migrations first.
    """
    watcher: PolicyFileWatcher | None = None
    if policy is None:
        text = settings.policy_file.read_bytes() if settings.policy_file and settings.policy_file.is_file() else None
        policy = load_policy(settings)
        holder = PolicyHolder(policy)
        if settings.policy_file is not None:
            watcher = PolicyFileWatcher(settings.policy_file, holder, text=text)
    else:
        holder = PolicyHolder(policy)
    db = db or Database.from_url(settings.database_url)
    if migrate:
        upgrade(db.engine)
    deps = ServiceDeps(
        db=db,
        policies=holder,
        catalog=JobCatalog(settings.jobs_paths),
        clock=clock,
        time_zone=settings.time_zone,
        approval_channel=settings.approval_channel,
        max_pending_per_user=settings.max_pending_per_user,
    )
    return Core(settings=settings, deps=deps, services=Services.over(deps), policy_watcher=watcher,
                metrics=Metrics(db, clock=clock))


# Parts of the ASGI app that other modules install: each takes the FastAPI app and the services.
Installer = Callable[[FastAPI, Services], None]


class Lifecycle:
    """What runs beside the HTTP server: started when the app starts, stopped (gracefully) when it stops."""

    def start(self) -> None:  # pragma: no cover - the default does nothing
        """Start background work."""

    def stop(self) -> None:  # pragma: no cover - the default does nothing
        """Stop background work, letting running jobs finish within a grace period."""

    def health(self, *, internals: bool = False) -> dict[str, Any]:
        """A JSON-able report of the background work's state; process ids and host names only with ``internals``."""
        return {}


def build_app(
    *,
    settings: Settings,
    services: Services,
    db: Database,
    lifecycle: Lifecycle | None = None,
    installers: tuple[Installer, ...] = (),
    slack_mode: str | None = None,
    slack_status: SlackStatus | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """Build the ASGI app: Slack, the REST API and ``/healthz``, with the background work in its lifespan.

    Args:
        settings: jobgate's settings.
        services: the use cases.
        db: the database (for ``/healthz``).
        lifecycle: background work started and stopped with the app (scheduler, executor, notifier).
        installers: functions that add routes (the REST API, Slack) to the app.
        slack_mode: how Slack reaches jobgate ("http" or "socket"), or None when it is not configured.
        slack_status: what ``auth.test`` last answered; without it, Slack is not reported connected.
        metrics: what ``GET /metrics`` shows (``core.metrics``); a fresh set over ``db`` by default.
    """
    background = lifecycle or Lifecycle()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        background.start()
        try:
            yield
        finally:
            background.stop()

    app = FastAPI(
        title="jobgate",
        description="Slack chat-ops bot for job scheduling and approvals; Nautobot-compatible REST API.",
        version="1.3",
        lifespan=lifespan,
        docs_url=None,  # the REST API serves its own docs page, with no outside assets (handlers/api_docs.py)
        redoc_url=None,
        openapi_url="/api/schema/",
    )
    app.state.services = services
    app.state.settings = settings

    @app.get("/healthz", include_in_schema=False)
    def healthz(authorization: str | None = Header(default=None)) -> JSONResponse:
        """Database, scheduler, executor, notifier and Slack state; 503 (still JSON) when the database is unreachable.

        Internals (host names, process and runner ids, raw errors) are shown only to a caller with a valid API token
        of an admin (``Authorization: Token``); they are always in the log.
        """
        database: dict[str, Any] = {"ok": db.ping(), "backend": db.engine.dialect.name}
        internals = bool(database["ok"]) and _is_admin(services, authorization)
        if internals:
            database["url"] = db.engine.url.render_as_string(hide_password=True)
        report: dict[str, Any] = {
            "status": "ok" if database["ok"] else "unavailable",
            "database": database,
            "slack": (slack_status.report(internals=internals) if slack_status is not None
                      else {"connected": False, "mode": slack_mode}),
        }
        try:
            report.update(background.health(internals=internals))
        except Exception:  # the report must still be given, and as JSON
            log.exception("/healthz could not read the state of the background work")
            report["background"] = {"error": "its state could not be read; see the log"}
        return JSONResponse(report, status_code=200 if database["ok"] else 503)

    scraped = metrics or Metrics(db, clock=services.clock)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        """Prometheus text format, open like the listening interface (scrapers send no token); no internals."""
        return Response(scraped.render(), media_type=CONTENT_TYPE)

    for install in installers:
        install(app, services)
    return app


def _is_admin(services: Services, authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "Token" or not token.strip():
        return False
    try:
        return services.tokens.is_admin_token(token.strip())
    except DatabaseUnavailableError:
        return False
