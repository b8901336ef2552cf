"""Slack wiring: the Bolt app, its Web API client, the user directory, the HTTP mount and the Socket Mode runner.

``build_bolt_app`` builds the synchronous Bolt app with jobgate's listeners (``handlers.register``), one global
middleware that hands ``services`` and ``directory`` to every listener by name, and one error handler: a
``DomainError`` becomes a reply to that user alone; anything else is logged with its traceback and never shown.
``slack_installer`` mounts ``POST /slack/events`` on the FastAPI app and runs Bolt's dispatch in a worker thread, never
on the event loop. ``run_socket_mode`` connects the same app over Socket Mode instead.

This is wiring: it may import anything. It never reads the environment; ``Settings`` come in.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from starlette.concurrency import run_in_threadpool

import handlers
from bot.app import Installer
from bot.config import Settings
from bot.domain.errors import DomainError
from bot.domain.permissions import Actor
from bot.services import Services
from handlers import blocks
from handlers.actions import reply_privately

log = logging.getLogger(__name__)

LISTENER_THREADS = 512
"""Bolt's listener pool. Its default is 5: a few slow listeners would then delay every other ack. Listeners wait for
one of a few work slots after their ack (``handlers.actions.WORK_SLOTS``), so this pool mostly holds idle threads
waiting their turn; it bounds how many requests may be in flight at once."""
USERGROUPS_TTL = 60.0
"""Seconds a snapshot of the workspace's user groups (and their members) is trusted."""
TIME_ZONE_TTL = 3600.0
"""Seconds a user's Slack time zone is trusted."""


def build_client(settings: Settings, *, token: str | None = None, retries: bool = True) -> WebClient:
    """A Web API client on ``JOBGATE_SLACK_API_URL`` with slack_sdk's retry handlers.

    Args:
        settings: jobgate's settings (bot token and API URL).
        token: the token to use instead of ``SLACK_BOT_TOKEN``.
        retries: add the rate-limit, server-error and connection-error retry handlers (one retry each).
    """
    handlers_: list[Any] = []
    if retries:
        handlers_ = [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(), ServerErrorRetryHandler()]
    return WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url,
                     retry_handlers=handlers_, timeout=10)


class SlackDirectory:
    """Who a Slack user is to jobgate: their user groups (for permissions) and their time zone. Cached, thread-safe.

    Group membership comes from ``usergroups.list(include_users=True)``, one call for the whole workspace, trusted
    for ``USERGROUPS_TTL`` seconds; a user's zone from ``users.info``, trusted for ``TIME_ZONE_TTL``. When Slack
    cannot answer, the last known answer is used (or none: no groups, the default zone).

    Args:
        client: the Web API client.
        default_time_zone: the zone of a user whose Slack zone is unknown (``JOBGATE_TIME_ZONE``).
        clock: a monotonic clock in seconds.
    """

    def __init__(self, client: WebClient, *, default_time_zone: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.default_time_zone = default_time_zone
        self.clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[str, tuple[str, ...]]] = {}  # handle -> (usergroup id, member user IDs)
        self._groups_at: float | None = None
        self._zones: dict[str, tuple[str, float]] = {}

    def _usergroups(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        with self._lock:
            fresh = self._groups_at is not None and self.clock() - self._groups_at < USERGROUPS_TTL
            if fresh:
                return self._groups
            try:
                response = self.client.usergroups_list(include_users=True)
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("usergroups.list failed (%s); using the last known user groups", type(exc).__name__)
                self._groups_at = self.clock() - USERGROUPS_TTL + 5.0  # try again in a few seconds
                return self._groups
            self._groups = {
                str(group.get("handle")): (str(group.get("id")), tuple(group.get("users") or ()))
                for group in response.get("usergroups") or []
                if group.get("handle") and not group.get("date_delete")
            }
            self._groups_at = self.clock()
            return self._groups

    def actor(self, user_id: str) -> Actor:
        """The actor for a Slack user: their ID and the handles of the user groups they belong to."""
        groups = self._usergroups()
        return Actor(user_id=user_id, usergroups=frozenset(h for h, (_, users) in groups.items() if user_id in users))

    def usergroup_id(self, handle: str) -> str | None:
        """The ID (``S…``) of the user group with this handle (with or without ``@``), if it exists."""
        found = self._usergroups().get(handle.removeprefix("@"))
        return found[0] if found else None

    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone from their Slack profile, else the default zone."""
        with self._lock:
            cached = self._zones.get(user_id)
            if cached and self.clock() - cached[1] < TIME_ZONE_TTL:
                return cached[0]
        try:
            response = self.client.users_info(user=user_id)
            zone = str((response.get("user") or {}).get("tz") or self.default_time_zone)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info failed (%s); using %s", type(exc).__name__, self.default_time_zone)
            return cached[0] if cached else self.default_time_zone
        with self._lock:
            self._zones[user_id] = (zone, self.clock())
        return zone


def build_bolt_app(settings: Settings, services: Services, *, client: WebClient | None = None) -> App:
    """Build jobgate's synchronous Bolt app.

    Args:
        settings: jobgate's settings (bot token, signing secret, API URL, default time zone).
        services: the use cases; every listener receives them as ``services``.
        client: the Web API client; by default one on ``JOBGATE_SLACK_API_URL`` with slack_sdk's retry handlers.

    Returns:
        The app. It does not call ``auth.test`` when built; Bolt does once, at the first request.
    """
    client = client or build_client(settings)
    directory = SlackDirectory(client, default_time_zone=settings.time_zone)
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        client=client,
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener"),
        logger=logging.getLogger("jobgate.slack"),
    )

    def attach_services(context: BoltContext, next_: Callable[[], None]) -> None:
        context["services"] = services
        context["directory"] = directory
        next_()

    app.middleware(attach_services)
    app.error(handle_error)
    handlers.register(app)
    return app


def handle_error(
    error: Exception,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond | None,
    logger: logging.Logger,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """The one error handler: a refusal goes to the acting user alone; anything else is logged, never shown.

    Before the ack (``response`` is set) a slash command gets the refusal as its ephemeral answer; after it, the
    refusal is sent through ``response_url``, as an ephemeral message, or in a modal.
    """
    if not isinstance(error, DomainError):
        logger.error("Slack listener failed on a %s payload", body.get("type") or "command", exc_info=error)
        if response is not None and "command" in body:
            message = blocks.build_notice("⚠️ Something went wrong on jobgate's side; it has been logged.")
            return _json_response({"response_type": "ephemeral", **message})
        return None
    message = blocks.build_refusal(error)
    if response is not None:  # not acknowledged yet: answer in the ack
        if "command" in body:
            return _json_response({"response_type": "ephemeral", **message})
        if body.get("type") == "view_submission":
            view = blocks.build_notice_modal("Not done", message["blocks"][0]["text"]["text"])
            return _json_response({"response_action": "update", "view": view})
        reply_privately(body=body, client=client, respond=respond, message=message)
        return BoltResponse(status=200, body="")
    reply_privately(body=body, client=client, respond=respond, message=message)
    return None


def _json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(payload),
                        headers={"content-type": "application/json;charset=utf-8"})


def slack_installer(bolt_app: App) -> Installer:
    """An installer for ``bot.app.build_app`` that mounts ``POST /slack/events`` (commands, interactivity, events).

    The request body is read on the event loop; Bolt's dispatch (signature check, ack, listeners) runs in a worker
    thread through ``run_in_threadpool``.
    """

    def install(app: FastAPI, _services: Services) -> None:
        async def slack_events(request: Request) -> Response:
            body = await request.body()
            bolt_request = BoltRequest(body=body.decode("utf-8", errors="replace"), query=request.url.query,
                                       headers=dict(request.headers))
            bolt_response: BoltResponse = await run_in_threadpool(bolt_app.dispatch, bolt_request)
            return Response(status_code=bolt_response.status, content=bolt_response.body,
                            headers=bolt_response.first_headers_without_set_cookie())

        app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)

    return install


def run_socket_mode(bolt_app: App, app_token: str) -> SocketModeHandler:
    """Connect the Bolt app over Socket Mode (``jobgate serve --socket-mode``) and return the handler.

    The connection runs in the handler's own threads; call ``handler.close()`` at shutdown.
    """
    web_client = WebClient(token=app_token, base_url=bolt_app.client.base_url,
                           retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler()])
    handler = SocketModeHandler(bolt_app, app_token, web_client=web_client, concurrency=32)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler
