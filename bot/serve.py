"""``jobgate serve``: migrations, job discovery, the ASGI app under uvicorn, and the background work.

This is wiring: it may import anything.
"""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket

import uvicorn

from bot.app import Installer, build_app, build_core
from bot.background import Background, Timings
from bot.config import ConfigError, Settings

log = logging.getLogger("jobgate")


def serve(settings: Settings, *, host: str, port: int, socket_mode: bool, scheduler_enabled: bool) -> int:
    """Run the server until SIGINT or SIGTERM; returns the exit status.

    Raises:
        ConfigError: Socket Mode was asked for without ``SLACK_APP_TOKEN``; the address cannot be bound.
        PolicyError: the permissions file is malformed.
    """
    # Upkeep every half second is not news; their warnings and errors still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    if socket_mode and not settings.slack_app_token:
        raise ConfigError("--socket-mode needs SLACK_APP_TOKEN (an app-level token, xapp-...)")
    if socket_mode and not settings.slack_bot_token:
        raise ConfigError("--socket-mode needs SLACK_BOT_TOKEN (the bot token, xoxb-...)")
    listener = _bind(host, port)  # first: a busy port fails at once, in one line, before anything else starts
    core = build_core(settings)
    services = core.services
    outcome = services.management.sync_jobs()
    for error in outcome.errors:
        log.error("cannot load %s: %s", error.module, error.error)
    jobs = services.listings.list_jobs()
    log.info("%d jobs found, %d enabled", sum(j.installed for j in jobs), sum(j.enabled and j.installed for j in jobs))

    installers: list[Installer] = _api_installers()
    notifier = None
    socket_handler = None
    slack_status = None
    # Socket Mode needs the bot and app tokens; HTTP needs the bot token and the signing secret.
    slack_mode = "socket" if socket_mode else ("http" if settings.slack_enabled else None)
    if slack_mode is not None:
        from bot.notifier import Notifier
        from bot.slack import build_bolt_app, build_client, run_socket_mode
        from bot.slack_gate import slack_installer
        from bot.slack_status import SlackStatus

        bolt_app = build_bolt_app(settings, services, metrics=core.metrics)
        slack_status = SlackStatus(build_client(settings, retries=False, metrics=core.metrics), mode=slack_mode)
        if scheduler_enabled:  # one notifier per scheduling replica; web-only replicas leave delivery to them
            notifier = Notifier.from_settings(settings, core.db, metrics=core.metrics)
        if socket_mode:
            assert settings.slack_app_token is not None
            socket_handler = run_socket_mode(bolt_app, settings.slack_app_token)
            log.info("Slack connected over Socket Mode")
        else:
            installers.append(slack_installer(bolt_app, signing_secret=settings.slack_signing_secret or ""))
            log.info("Slack requests are served at POST /slack/events")
    else:
        log.warning(slack_not_configured(settings))

    background = Background(
        core,
        scheduler_enabled=scheduler_enabled,
        notifier=notifier,
        timings=Timings(shutdown_grace=settings.shutdown_grace),
    )
    app = build_app(settings=settings, services=services, db=core.db, lifecycle=background,
                    installers=tuple(installers),
                    slack_mode=slack_mode, slack_status=slack_status, metrics=core.metrics)
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=settings.access_log,
        timeout_graceful_shutdown=int(settings.shutdown_grace.total_seconds()) + 5,
    ))
    log.info("jobgate listening on http://%s:%d (REST API under /api/, health at /healthz)", host, port)
    # Everything loaded so far (modules, jobs, the app) lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise stall every thread for tens of milliseconds.
    gc.collect()
    gc.freeze()
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then restores the previous handlers and raises the signal
    # again. With these as the previous handlers, that second delivery is a no-op and serve exits 0, as promised.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _after_graceful_shutdown)
    if slack_status is not None:
        slack_status.start()  # auth.test in the background: start-up and requests never wait for Slack
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        if slack_status is not None:
            slack_status.stop()
        if socket_handler is not None:
            socket_handler.close()
    return 0 if server.started else 1


def slack_not_configured(settings: Settings) -> str:
    """The one start-up line saying why Slack is not connected over HTTP, naming the credential that is missing."""
    given = {"SLACK_BOT_TOKEN": settings.slack_bot_token, "SLACK_SIGNING_SECRET": settings.slack_signing_secret}
    present = [name for name, value in given.items() if value]
    missing = [name for name, value in given.items() if not value]
    if not present and settings.slack_app_token:
        return ("Slack is not connected: SLACK_BOT_TOKEN is missing (SLACK_APP_TOKEN is set); Socket Mode needs both, "
                "with `jobgate serve --socket-mode` (over HTTP: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")
    if not present:
        return ("Slack is not connected: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to use /jobs "
                "(the REST API, the scheduler and the executor work without them)")
    line = f"Slack is not connected: {missing[0]} is missing ({present[0]} is set); set it to use /jobs"
    if missing[0] == "SLACK_SIGNING_SECRET":
        line += (", or run `jobgate serve --socket-mode` (SLACK_APP_TOKEN is set)" if settings.slack_app_token
                 else " over HTTP, or set SLACK_APP_TOKEN and run `jobgate serve --socket-mode`")
    return line


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says it listens; a bad host or a busy port is one line.

    Raises:
        ConfigError: the address cannot be resolved or bound (in use, not this machine's, not permitted).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        hint = " (another process is using it; choose another --port)" if exc.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    listener.set_inheritable(True)
    return listener


def _after_graceful_shutdown(signum: int, _frame: object) -> None:
    log.info("stopped on %s", signal.Signals(signum).name)


def _api_installers() -> list[Installer]:
    from handlers.api import install

    return [install]
