"""Slack over Socket Mode (``jobgate serve --socket-mode``): WebSocket connections to Slack, envelopes dispatched to
the Bolt app, and their acks sent back on the connection each envelope came on.

Slack asks every client to reconnect every few hours (a ``disconnect`` message, ``refresh_requested``, a few seconds
before it closes the connection) and may still deliver envelopes on the old connection until it does. So the runner
overlaps its connections, as Slack intends: on ``disconnect`` it opens a new connection while it keeps reading the
old one, and leaves the old one open until Slack closes it (or ``OVERLAP_LIMIT`` seconds later). Every connection
has its own reader thread, and envelopes are dispatched on a thread pool at once, so no envelope waits for a
reconnection; an envelope's ack is sent as soon as its listener acks (``bot.slack_dispatch``). A connection that
drops without warning is replaced at once, then with a growing back-off while Slack cannot be reached.

This is wiring: it may import anything.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from bot.slack_dispatch import dispatch_at_ack

log = logging.getLogger(__name__)

OVERLAP_LIMIT = 30.0
"""Seconds an old connection is kept open after its replacement is up, unless Slack closes it first."""
RECONNECT_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before successive attempts to open a connection when the previous ones failed (the last one repeats)."""


@dataclass(eq=False)
class _Link:
    """One WebSocket connection to Slack."""

    connection: ClientConnection
    number: int
    replaced: threading.Event = field(default_factory=threading.Event)


class SocketModeRunner:
    """Serve a Bolt app over Socket Mode with overlapping connections.

    Args:
        bolt_app: the Bolt app whose listeners answer the envelopes.
        web_client: a Web API client with the app-level token (``apps.connections.open``).
        workers: how many envelopes may be dispatched at once (a listener keeps its thread through its work after
            its ack).
    """

    def __init__(self, bolt_app: App, web_client: WebClient, *, workers: int = 32) -> None:
        self._app = bolt_app
        self._web = web_client
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="socket-mode")
        self._lock = threading.Lock()
        self._links: list[_Link] = []  # open connections, the newest last
        self._numbers = 0
        self._closed = threading.Event()
        self._reconnecting = False

    # ------------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open the first connection (raises when Slack cannot be reached or refuses the app token)."""
        self._open()

    def close(self) -> None:
        """Close every connection and stop dispatching."""
        self._closed.set()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.connection.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def connected(self) -> bool:
        """Whether at least one connection is open."""
        with self._lock:
            return bool(self._links)

    # ----------------------------------------------------------------------------------------------- connections

    def _open(self) -> _Link:
        response = self._web.apps_connections_open(app_token=self._web.token or "")
        url = str(response["url"])
        connection = connect(url, compression=None, open_timeout=10, close_timeout=2)
        with self._lock:
            self._numbers += 1
            link = _Link(connection=connection, number=self._numbers)
            self._links.append(link)
        threading.Thread(target=self._read, args=(link,), name=f"socket-mode-read-{link.number}", daemon=True).start()
        log.info("Socket Mode connection %d open", link.number)
        return link

    def _read(self, link: _Link) -> None:
        try:
            for raw in link.connection:
                self._receive(link, raw)
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._lock:
                if link in self._links:
                    self._links.remove(link)
                others = bool(self._links)
            if not self._closed.is_set():
                if link.replaced.is_set() or others:
                    log.info("Socket Mode connection %d closed", link.number)
                else:
                    log.warning("Socket Mode connection %d dropped; reconnecting", link.number)
                    self._replace(link)

    def _receive(self, link: _Link, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("Socket Mode: a message that is not JSON was ignored")
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "disconnect":
            log.info("Slack asked to reconnect (%s)", message.get("reason") or "no reason given")
            self._replace(link)
        elif isinstance(message.get("envelope_id"), str):
            self._pool.submit(self._dispatch, link, message)

    def _replace(self, link: _Link) -> None:
        """Open a new connection in the background; the old one keeps being read until it closes."""
        if link.replaced.is_set():
            return
        link.replaced.set()
        threading.Thread(target=self._reconnect, args=(link,), name="socket-mode-connect", daemon=True).start()

    def _reconnect(self, old: _Link) -> None:
        with self._lock:
            if self._reconnecting:
                return
            self._reconnecting = True
        try:
            attempt = 0
            while not self._closed.is_set():
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                if delay and self._closed.wait(delay):
                    return
                try:
                    self._open()
                    break
                except Exception as exc:  # Slack unreachable or refusing: try again later
                    log.warning("Socket Mode: could not open a connection (%s: %s); trying again",
                                type(exc).__name__, exc)
                    attempt += 1
        finally:
            with self._lock:
                self._reconnecting = False
        timer = threading.Timer(OVERLAP_LIMIT, old.connection.close)
        timer.daemon = True
        timer.start()

    # ------------------------------------------------------------------------------------------------- envelopes

    def _dispatch(self, link: _Link, envelope: dict[str, Any]) -> None:
        envelope_id = envelope["envelope_id"]
        headers: dict[str, str | Sequence[str]] = {}
        if envelope.get("retry_attempt") is not None:
            headers["x-slack-retry-num"] = str(envelope["retry_attempt"])
        if envelope.get("retry_reason") is not None:
            headers["x-slack-retry-reason"] = str(envelope["retry_reason"])
        payload = envelope.get("payload")

        def answer(response: BoltResponse) -> None:  # at the listener's ack; its work after the ack goes on here
            self._send(link, json.dumps(_ack(envelope_id, response)))

        try:
            body = payload if isinstance(payload, dict) else {}
            dispatch_at_ack(self._app, BoltRequest(mode="socket_mode", body=body, headers=headers), answer)
        except Exception as exc:  # a payload Bolt cannot read: acknowledge it so Slack does not send it again
            log.warning("Socket Mode: envelope %s could not be dispatched (%s)", envelope_id, type(exc).__name__)
            answer(BoltResponse(status=400, body=""))

    def _send(self, link: _Link, text: str) -> None:
        """Send on ``link``, or on the newest open connection once ``link`` is closed."""
        with self._lock:
            candidates = [link, *reversed([other for other in self._links if other is not link])]
        for candidate in candidates:
            try:
                candidate.connection.send(text)
                return
            except (ConnectionClosed, WebSocketException, OSError):
                continue
        log.warning("Socket Mode: an ack could not be sent (no connection open)")


def _ack(envelope_id: str, response: BoltResponse) -> dict[str, Any]:
    """The ack of an envelope: with the answer Bolt gave (a command's reply, a ``response_action``), if any."""
    ack: dict[str, Any] = {"envelope_id": envelope_id}
    if response.status != 200 or not response.body:
        return ack
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        ack["payload"] = json.loads(response.body)
    else:
        ack["payload"] = {"text": response.body}
    return ack
