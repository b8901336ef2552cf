"""A fake Slack Socket Mode server: a real WebSocket server on 127.0.0.1 (ephemeral port) in a thread.

Slack's side of Socket Mode, as slack_sdk's builtin client meets it: the app asks ``apps.connections.open`` (see
``FakeSlack.socket_mode_url``) for a URL, connects to it, and receives ``{"type": "hello", ...}``. Then Slack sends
envelopes (``{"envelope_id", "type", "payload", "accepts_response_payload"}``) and the app acks each one on the same
socket with ``{"envelope_id": ..., "payload": {...}}``; the ``payload`` is the answer (a slash command's reply, a
``response_action``), absent for an empty ack.

The WebSocket protocol itself (handshake, framing, masking, ping/pong) is the ``websockets`` library's; the test
pushes envelopes with :meth:`FakeSocketMode.push` and waits for their acks with :meth:`FakeSocketMode.wait_for_ack`.
Several client connections may be open at once, as around Slack's refreshes: envelopes go to the newest one unless
the test names the oldest (:meth:`FakeSocketMode.push` with ``on="oldest"``), and the server can close the oldest
itself (:meth:`FakeSocketMode.close_oldest`), as Slack does a few seconds after asking a client to reconnect.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

PATH = "/link"
"""The path of the WebSocket URL that ``apps.connections.open`` hands out."""
APP_ID = "A0JOBGATE"


@dataclass
class Ack:
    """The client's reply to one envelope.

    Attributes:
        envelope_id: the envelope it acknowledges.
        payload: the answer carried by the ack, or None for an empty ack.
        elapsed: seconds from pushing the envelope to receiving the ack.
        message: the whole message as received.
    """

    envelope_id: str
    payload: dict[str, Any] | None
    elapsed: float
    message: dict[str, Any] = field(default_factory=dict)


class FakeSocketMode:
    """The fake server. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Attributes:
        received: every text message the client sent, decoded (acks, and anything else), in arrival order.
        connections: how many clients connected (and were greeted with ``hello``) so far.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self._acks: dict[str, Ack] = {}
        self._pushed_at: dict[str, float] = {}
        self._open: list[ServerConnection] = []  # the newest last
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._send_lock = threading.Lock()
        # The builtin client pings on its own and answers pings; the server needs no keepalive of its own here.
        self._server: Server = serve(self._handle, "127.0.0.1", 0, process_request=_only_the_link_path,
                                     compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)

    # ---------------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The WebSocket URL for ``apps.connections.open`` (``ws://127.0.0.1:<port>/link``)."""
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}{PATH}"

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------- connections

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 3600},
            "connection_info": {"app_id": APP_ID},
        }))
        with self._lock:
            self._open.append(connection)
            self.connections += 1
            self._lock.notify_all()
        try:
            for raw in connection:
                self._record(raw)
        except ConnectionClosed:  # the builtin client drops the socket without a closing handshake
            pass
        finally:
            with self._lock:
                if connection in self._open:
                    self._open.remove(connection)
                self._lock.notify_all()

    @property
    def _current(self) -> ServerConnection | None:
        return self._open[-1] if self._open else None

    @property
    def open_connections(self) -> int:
        """How many client connections are open now."""
        with self._lock:
            return len(self._open)

    def _record(self, raw: str | bytes) -> None:
        at = time.monotonic()
        message = json.loads(raw)
        with self._lock:
            self.received.append(message)
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if isinstance(envelope_id, str) and envelope_id in self._pushed_at:
                payload = message.get("payload")
                self._acks[envelope_id] = Ack(envelope_id=envelope_id, payload=payload,
                                              elapsed=at - self._pushed_at[envelope_id], message=message)
            self._lock.notify_all()

    @property
    def connected(self) -> bool:
        """True while a client is connected."""
        with self._lock:
            return self._current is not None

    def wait_for_connection(self, timeout: float = 10.0) -> None:
        """Wait until a client is connected and has been sent ``hello``.

        Raises:
            AssertionError: no client connected within ``timeout`` seconds.
        """
        self._wait(lambda: self._current is not None, timeout, lambda: "a Socket Mode client to connect")

    def wait_for_disconnect(self, timeout: float = 10.0) -> None:
        """Wait until no client is connected.

        Raises:
            AssertionError: the client was still connected after ``timeout`` seconds.
        """
        self._wait(lambda: self._current is None, timeout, lambda: "the Socket Mode client to disconnect")

    # ---------------------------------------------------------------------------------------------- envelopes

    def push(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = True,
             envelope_id: str | None = None, on: str = "newest") -> str:
        """Send an envelope to the connected client; returns its ``envelope_id``.

        Args:
            kind: the envelope type: ``slash_commands``, ``interactive`` or ``events_api``.
            payload: what Slack would deliver (for a slash command, the same fields as the HTTP form).
            accepts_response_payload: whether the ack may carry an answer.
            envelope_id: the ID to use (a fresh one by default).
            on: the connection to send it on: ``newest`` or ``oldest``.

        Raises:
            AssertionError: no client is connected, or the connection was closed (the envelope is lost).
        """
        envelope_id = envelope_id or f"env-{next(self._ids):04d}-{int(time.time())}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""}
        with self._lock:
            if not self._open:
                raise AssertionError("no Socket Mode client is connected")
            connection = self._open[0] if on == "oldest" else self._open[-1]
            self._pushed_at[envelope_id] = time.monotonic()
        try:
            with self._send_lock:
                connection.send(json.dumps(envelope))
        except ConnectionClosed:
            raise AssertionError(f"envelope {envelope_id} lost: the client closed that connection") from None
        return envelope_id

    def close_oldest(self) -> None:
        """Close the oldest open connection from the server's side, as Slack does after a refresh."""
        with self._lock:
            connection = self._open[0] if self._open else None
        if connection is not None:
            connection.close()

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the client to reconnect, as Slack does routinely (``{"type": "disconnect", ...}``); the client asks
        ``apps.connections.open`` for a new URL and connects again.

        Raises:
            AssertionError: no client is connected.
        """
        with self._lock:
            connection = self._current
            if connection is None:
                raise AssertionError("no Socket Mode client is connected")
        with self._send_lock:
            connection.send(json.dumps({"type": "disconnect", "reason": reason,
                                        "debug_info": {"host": "applink-fake"}}))

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` clients in all have connected (and been greeted), the last one still connected.

        Raises:
            AssertionError: fewer connected within ``timeout`` seconds.
        """
        self._wait(lambda: self.connections >= count and self._current is not None, timeout,
                   lambda: f"{count} Socket Mode connections (got {self.connections})")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Wait for the client's ack of one envelope.

        Raises:
            AssertionError: it did not arrive within ``timeout`` seconds.
        """
        self._wait(lambda: envelope_id in self._acks, timeout,
                   lambda: f"the ack of {envelope_id} (the client sent: {self.received})")
        with self._lock:
            return self._acks[envelope_id]

    def _wait(self, condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what()}")
                self._lock.wait(left)


def _only_the_link_path(connection: ServerConnection, request: Request) -> Response | None:
    if urlsplit(request.path).path != PATH:
        return connection.respond(404, f"no WebSocket endpoint at {request.path}\n")
    return None
