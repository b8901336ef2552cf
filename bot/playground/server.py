"""``jobgate playground``: the real app, a Slack simulator and a Slack-like page, in one process on 127.0.0.1.

The app is what ``jobgate serve`` builds (Slack at ``/slack/events``, the REST API, the scheduler, the executor's
worker processes and the notifier), configured with a fresh SQLite file in a temporary folder, the example jobs
enabled, the demo permissions file (``bot.playground.demo``), ``#approvals`` as the approval channel, a signing secret
of its own and the Web API at the simulator. The page (``/`` and ``/playground/…``) follows the simulator's feed and
sends what the person does through ``bot.playground.bridge``, signed, to ``/slack/events``.

This is wiring: it may import anything but storage and SQL.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import tempfile
import threading
import time
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import Body, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.app import Installer, build_app, build_core
from bot.background import Background, Timings
from bot.config import ConfigError, Settings
from bot.playground import demo
from bot.playground.bridge import Bridge, BridgeError, Outcome
from bot.playground.slack_sim import SlackSimulator
from bot.services import Services

log = logging.getLogger("jobgate")

STATIC = {"playground.css": "text/css", "playground.js": "text/javascript", "blockkit.js": "text/javascript"}
"""The page's files (``bot/playground/static``) and their media types."""
Payload = Annotated[dict[str, Any], Body()]
"""A JSON object posted by the page."""
FEED_WAIT = 10.0
"""Seconds a request for new events waits for one before answering with none."""
FEED_POLL = 0.05
"""Seconds between two looks at the feed while a request for new events waits."""


def playground_settings(base: Settings, *, folder: Path, api_url: str, signing_secret: str) -> Settings:
    """The app's settings: ``base``'s log format and job folders (after the examples), everything else the
    playground's own (``SLACK_*`` ignored)."""
    jobs = demo.examples_folder()
    if jobs is None:
        raise ConfigError("jobgate playground needs the example jobs (examples/jobs of the source tree); install "
                          "jobgate from a clone with pip install -e '.[dev]' as the README says")
    policy = folder / "policy.yml"
    policy.write_text(demo.POLICY, encoding="utf-8")
    return Settings(database_url=f"sqlite:///{folder / 'playground.db'}", slack_bot_token="xoxb-playground",
                    slack_signing_secret=signing_secret, slack_api_url=api_url,
                    jobs_paths=(jobs, *(path for path in base.jobs_paths if path != jobs)),
                    policy_file=policy, approval_channel=demo.APPROVALS, time_zone="UTC", workers=2,
                    log_format=base.log_format)


def start_simulator() -> SlackSimulator:
    """The simulator with the demo workspace: its people, channels, and Slack's pace."""
    sim = SlackSimulator(strict=True).start()
    sim.users.update(demo.profiles())
    sim.workspace.channels.update(demo.CHANNELS)
    sim.pace(1.0)
    return sim


def page_installer(bridge: Bridge) -> Installer:
    """Routes of the page: ``/`` and its files, the feed, and what the person does."""
    sim = bridge.sim
    people = {p.user_id for p in demo.PEOPLE}

    def act(body: dict[str, Any], send: Any) -> JSONResponse:
        user = body.get("user")
        if user not in people:
            return JSONResponse({"detail": f"unknown user {user!r}; expected one of {sorted(people)}"}, 400)
        try:
            outcome: Outcome = send(str(user))
        except BridgeError as error:
            return JSONResponse({"detail": str(error)}, 409)
        except (KeyError, TypeError, AttributeError):
            return JSONResponse({"detail": "the request is missing a field or has one of the wrong kind"}, 400)
        return JSONResponse(outcome.as_json())

    def install(app: FastAPI, _services: Services) -> None:
        @app.get("/", include_in_schema=False)
        def page() -> HTMLResponse:
            return HTMLResponse(_static("index.html"))

        @app.get("/playground/static/{name}", include_in_schema=False)
        def static(name: str) -> Response:
            if name not in STATIC:
                return JSONResponse({"detail": "no such file"}, 404)
            return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

        @app.get("/playground/api/state", include_in_schema=False)
        def state() -> JSONResponse:
            return JSONResponse({
                "people": [{"id": p.user_id, "name": p.name, "tz": p.time_zone, "role": p.role} for p in demo.PEOPLE],
                "channels": [{"id": cid, "name": name} for cid, name in demo.CHANNELS.items()],
                "approval_channel": demo.APPROVALS,
            })

        @app.get("/playground/api/feed", include_in_schema=False)
        async def feed(after: int = Query(0, ge=0), wait: float = Query(FEED_WAIT, ge=0, le=FEED_WAIT)) -> JSONResponse:
            # Polled on the event loop, so that waiting pages hold none of the threads Slack requests are served on.
            deadline = time.monotonic() + wait
            events = sim.workspace.since(after)
            while not events and time.monotonic() < deadline:
                await asyncio.sleep(FEED_POLL)
                events = sim.workspace.since(after)
            return JSONResponse({"events": events})

        @app.post("/playground/api/command", include_in_schema=False)
        def command(body: Payload) -> JSONResponse:
            return act(body, lambda user: bridge.command(user=user, channel=str(body["channel"]),
                                                         text=str(body["text"])))

        @app.post("/playground/api/action", include_in_schema=False)
        def action(body: Payload) -> JSONResponse:
            if body.get("view_id"):
                return act(body, lambda user: bridge.view_action(user=user, view_id=str(body["view_id"]),
                                                                 action=dict(body["action"]),
                                                                 state=dict(body.get("state") or {})))
            return act(body, lambda user: bridge.message_action(user=user, channel=str(body["channel"]),
                                                                ts=str(body["ts"]), action=dict(body["action"])))

        @app.post("/playground/api/submit", include_in_schema=False)
        def submit(body: Payload) -> JSONResponse:
            return act(body, lambda user: bridge.submit(user=user, view_id=str(body["view_id"]),
                                                        state=dict(body.get("state") or {})))

        @app.post("/playground/api/close", include_in_schema=False)
        def close(body: Payload) -> JSONResponse:
            return act(body, lambda user: bridge.close(user=user, view_id=str(body["view_id"])))

        @app.post("/playground/api/home", include_in_schema=False)
        def home(body: Payload) -> JSONResponse:
            return act(body, lambda user: bridge.open_home(user=user))

    return install


def _static(name: str) -> str:
    return resources.files("bot.playground").joinpath("static", name).read_text(encoding="utf-8")


def run_playground(base: Settings, *, port: int, open_browser: bool) -> int:
    """Run the playground until SIGINT or SIGTERM; returns the exit status.

    Raises:
        ConfigError: the port cannot be bound, or the example jobs are missing.
    """
    from bot.notifier import Notifier
    from bot.serve import _after_graceful_shutdown, _api_installers, _bind
    from bot.slack import build_bolt_app
    from bot.slack_gate import slack_installer

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    listener = _bind("127.0.0.1", port)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with tempfile.TemporaryDirectory(prefix="jobgate-playground-") as folder:
        sim = start_simulator()
        try:
            secret = secrets.token_hex(16)
            settings = playground_settings(base, folder=Path(folder), api_url=sim.url, signing_secret=secret)
            core = build_core(settings)
            services = core.services
            for error in services.management.sync_jobs().errors:
                log.error("cannot load %s: %s", error.module, error.error)
            for job in services.listings.list_jobs():  # the examples, and the jobs of JOBGATE_JOBS_PATH
                if job.installed:
                    services.management.set_job_enabled(job.slug, True)
            bolt_app = build_bolt_app(settings, services, metrics=core.metrics)
            notifier = Notifier.from_settings(settings, core.db, metrics=core.metrics)
            background = Background(core, notifier=notifier, timings=Timings(shutdown_grace=settings.shutdown_grace))
            bridge = Bridge(sim, events_url=f"{url}/slack/events", signing_secret=secret)
            app = build_app(settings=settings, services=services, db=core.db, lifecycle=background,
                            installers=(*_api_installers(), slack_installer(bolt_app, signing_secret=secret),
                                        page_installer(bridge)),
                            slack_mode="http", metrics=core.metrics)
            server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                                   timeout_graceful_shutdown=5))
            threading.Thread(target=_announce, args=(server, url, open_browser), daemon=True).start()
            for sig in (signal.SIGINT, signal.SIGTERM):  # as jobgate serve: a graceful stop exits 0
                signal.signal(sig, _after_graceful_shutdown)
            server.run(sockets=[listener])
        finally:
            listener.close()
            sim.stop()
    return 0 if server.started else 1


def _announce(server: uvicorn.Server, url: str, open_browser: bool) -> None:
    """Say where the page is once the server answers, and open it in the browser unless asked not to."""
    started = threading.Event()
    while not server.started and not server.should_exit:
        started.wait(0.05)
    if not server.started:
        return
    log.info("jobgate playground: open %s (Alice runs jobs, Bob approves, Carol is admin); Ctrl-C stops it", url)
    if open_browser and not webbrowser.open(url):
        log.warning("jobgate playground: no browser could be started here; open %s in one", url)
