"""The HTTP server: one ASGI app with Slack, the REST API and ``/healthz``, and the background loops in its lifespan.

This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot.config import Settings
from bot.services import Services
from storage.db import Database

log = logging.getLogger(__name__)

# Parts of the app that other modules install: each takes the FastAPI app and the services.
Installer = Callable[[FastAPI, Services], None]


class Lifecycle:
    """What runs beside the HTTP server: started when the app starts, stopped (gracefully) when it stops."""

    def start(self) -> None:  # pragma: no cover - the default does nothing
        """Start background work."""

    def stop(self) -> None:  # pragma: no cover - the default does nothing
        """Stop background work, letting running jobs finish within a grace period."""

    def health(self) -> dict[str, Any]:
        """A JSON-able report of the background work's state."""
        return {}


def build_app(
    *,
    settings: Settings,
    services: Services,
    db: Database,
    lifecycle: Lifecycle | None = None,
    installers: tuple[Installer, ...] = (),
    slack_mode: str | None = None,
) -> FastAPI:
    """Build the ASGI app.

    Args:
        settings: jobgate's settings.
        services: the use cases.
        db: the database (for ``/healthz``).
        lifecycle: background work started and stopped with the app (scheduler, runner, notifier).
        installers: functions that add routes (the REST API, Slack) to the app.
        slack_mode: how Slack reaches jobgate ("http" or "socket"), or None when it is not connected.
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
        docs_url="/api/docs/",
        redoc_url=None,
        openapi_url="/api/schema/",
    )
    app.state.services = services
    app.state.settings = settings

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Database, scheduler, runner and Slack state; 503 when the database cannot be reached."""
        database = {"ok": db.ping(), "backend": db.engine.dialect.name}
        report = {
            "status": "ok" if database["ok"] else "unavailable",
            "database": database,
            "slack": {"connected": slack_mode is not None, "mode": slack_mode},
            **background.health(),
        }
        return JSONResponse(report, status_code=200 if database["ok"] else 503)

    for install in installers:
        install(app, services)
    return app
