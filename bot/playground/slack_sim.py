"""A Slack Web API simulator: a real HTTP server on 127.0.0.1 (an ephemeral port, or one given), for the playground,
the tests and the benchmarks.

It answers the methods jobgate uses (``bot.playground.web_api``) whether the arguments come as a query string (GET), a
form or JSON, keeps what they do in a workspace with a feed of events (``bot.playground.workspace``), records every
call with its decoded parameters, serves ``response_url`` paths (``/response/<id>``), upload URLs and the download
URLs of attached files (``/download/<id>``, to the bot's token only), keeps Slack's
limits (``invalid_blocks``, ``msg_too_long``), fails on demand (HTTP 500, 429 with ``Retry-After``, ``ok: false``
errors, or slow answers: timeouts), fails every Web API call for a time window (``outage``: 500 and 429 with
``Retry-After`` in turn), and answers slowly but well on demand (``slow``). With ``pace()`` it enforces Slack's pace:
one ``chat.postMessage`` per second per channel, more answered 429 ``ratelimited`` with ``Retry-After``.
``wait_for(method, count, timeout)`` waits for calls made after an ack.

Pure: stdlib only.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.playground.slack_limits import RESPONSE_URL_METHOD
from bot.playground.web_api import SharedFile, WebApiMethods
from bot.playground.workspace import Reply

UPLOAD_METHOD = "file_upload"
"""The ``method`` recorded for a POST of a file's bytes to the URL ``files.getUploadURLExternal`` handed out."""
DOWNLOAD_METHOD = "file_download"
"""The ``method`` recorded for a GET of an attached file's ``url_private_download`` (``/download/<id>``)."""

__all__ = ["DOWNLOAD_METHOD", "RESPONSE_URL_METHOD", "UPLOAD_METHOD", "Call", "Failure", "SharedFile",
           "SlackSimulator", "blocks_of", "text_of"]


@dataclass
class Call:
    """One recorded request.

    Attributes:
        method: the Web API method (``chat.postMessage``), or ``response_url``.
        params: decoded parameters (JSON values for JSON bodies; strings for forms and query strings).
        path: the request path.
        status: the HTTP status answered.
        at: ``time.monotonic()`` when it arrived.
    """

    method: str
    params: dict[str, Any]
    path: str
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok", True) is not False


@dataclass
class Failure:
    """A planned failure: for ``method`` (or every method when None), ``times`` times."""

    method: str | None
    status: int
    times: int
    retry_after: int | None = None
    error: str | None = None
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of calls must not be refused (the default backlog is 5)


class SlackSimulator(WebApiMethods):
    """The simulator. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        port: the port to listen on (0: any free one).
        strict: refuse what Slack refuses for lack of context (see ``bot.playground.web_api``).
    """

    def __init__(self, *, port: int = 0, strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.calls: list[Call] = []
        self._failures: list[Failure] = []
        self._slow: dict[str, float] = {}
        self._outage_until = 0.0
        self._outage_statuses: Iterator[int] = iter(())
        self._outage_retry_after = 1
        self._pace: float | None = None
        self._last_post: dict[str, float] = {}
        self.rate_limited = 0
        self._names = itertools.count(1)
        self._server = _Server(("127.0.0.1", port), _handler_class(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-simulator", daemon=True)

    # ---------------------------------------------------------------------------------------------- lifecycle

    def _base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The Web API base URL (for ``JOBGATE_SLACK_API_URL``), with its trailing slash."""
        return f"{self._base()}/api/"

    def response_url(self, name: str = "r", *, reply: Reply | None = None) -> str:
        """A ``response_url`` served by this simulator; ``reply`` says where its answers appear."""
        path = f"/response/{name}-{next(self._names)}"
        if reply is not None:
            self.workspace.remember_reply(path, reply)
        return self._base() + path

    def start(self) -> SlackSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------------------------------------- behaviour

    def fail(self, method: str | None = None, *, status: int = 500, times: int = 1, retry_after: int | None = None,
             error: str | None = None, delay: float = 0.0) -> None:
        """Make the next ``times`` calls of ``method`` (every method if None) fail.

        Args:
            method: the Web API method, or None for all.
            status: HTTP status to answer (500, 503, 429; 200 with ``error`` for an ``ok: false``).
            times: how many calls fail.
            retry_after: the ``Retry-After`` header (429).
            error: the ``error`` code in the body.
            delay: seconds to wait before answering (a timeout when longer than the client's).
        """
        with self._lock:
            self._failures.append(Failure(method, status, times, retry_after, error, delay))

    def outage(self, seconds: float, *, statuses: tuple[int, ...] = (500, 429), retry_after: int = 1) -> None:
        """For the next ``seconds``, answer every Web API call with the ``statuses`` in turn (429 with
        ``Retry-After: retry_after``), as Slack does in an incident. ``response_url`` posts (Slack's webhooks, not the
        Web API) are answered as usual."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_statuses = itertools.cycle(statuses)
            self._outage_retry_after = retry_after

    def in_outage(self) -> bool:
        """Whether an :meth:`outage` is under way."""
        with self._lock:
            return time.monotonic() < self._outage_until

    def _outage_failure(self, method: str) -> Failure | None:
        with self._lock:
            if method == RESPONSE_URL_METHOD or time.monotonic() >= self._outage_until:
                return None
            status = next(self._outage_statuses)
            return Failure(None, status, 1, self._outage_retry_after if status == 429 else None)

    def slow(self, method: str, seconds: float) -> None:
        """Answer every later call of ``method`` as usual, but only after ``seconds``."""
        with self._lock:
            self._slow[method] = seconds

    def pace(self, seconds: float = 1.0) -> None:
        """Enforce Slack's pace from now on: a ``chat.postMessage`` to a channel less than ``seconds`` after the
        last one accepted there is answered 429 with ``Retry-After`` (counted in :attr:`rate_limited`)."""
        with self._lock:
            self._pace = seconds

    def _paced(self, method: str, params: dict[str, Any], arrived: float) -> int | None:
        """The ``Retry-After`` for a call that comes too soon after the last message to its channel, else None."""
        if self._pace is None or method != "chat.postMessage":
            return None
        channel = str(params.get("channel", ""))
        with self._lock:
            last = self._last_post.get(channel)
            if last is not None and arrived - last < self._pace:
                self.rate_limited += 1
                return max(1, round(self._pace - (arrived - last) + 0.5))
            self._last_post[channel] = arrived
        return None

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method in (None, method) and failure.times > 0:
                    failure.times -= 1
                    if failure.times == 0:
                        self._failures.remove(failure)
                    return failure
        return None

    # ------------------------------------------------------------------------------------------------ queries

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        """Recorded calls of one method, in arrival order (successful ones only, by default)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``count`` successful calls of ``method`` were recorded; return them all.

        Raises:
            AssertionError: they did not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self.calls if c.method == method and c.ok]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self.calls})
                    raise AssertionError(f"expected {count} {method} call(s), got {len(found)}; methods seen: {seen}")
                self._lock.wait(left)

    def reset(self) -> None:
        """Forget recorded calls."""
        with self._lock:
            self.calls.clear()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()


def _handler_class(sim: SlackSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def _upload(self) -> None:
            """Receive a file's bytes at an upload URL (Slack answers 200 ``OK - <length>``)."""
            file_id = urlsplit(self.path).path.removeprefix("/upload/")
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            accepted = sim.receive_upload(file_id, raw)
            status, answer = (200, f"OK - {len(raw)}".encode()) if accepted else (400, b"invalid upload")
            sim.record(Call(method=UPLOAD_METHOD, params={"file_id": file_id, "length": len(raw)}, path=self.path,
                            status=status))
            self._send(status, answer, "text/plain", {})

        def _download(self) -> None:
            """Serve an attached file's bytes, as Slack does at ``url_private_download``: to the bot's token."""
            file_id = urlsplit(self.path).path.removeprefix("/download/")
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            content = sim.download(file_id, token)
            status = 200 if content is not None else 404
            sim.record(Call(method=DOWNLOAD_METHOD, params={"file_id": file_id}, path=self.path, status=status))
            self._send(status, content if content is not None else b"not found", "application/octet-stream", {})

        def _params(self) -> dict[str, Any]:
            split = urlsplit(self.path)
            params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if raw and kind == "application/json":
                try:
                    params.update(json.loads(raw))
                except ValueError:
                    params["_invalid_json"] = True
            elif raw:
                for key, value in parse_qsl(raw.decode(errors="replace"), keep_blank_values=True):
                    json_keys = ("blocks", "view", "attachments", "files")
                    params[key] = _maybe_json(value) if key in json_keys else value
            return params

        def _handle(self) -> None:
            arrived = time.monotonic()
            path = urlsplit(self.path).path
            if path.startswith("/upload/"):
                self._upload()
                return
            if path.startswith("/download/"):
                self._download()
                return
            params = self._params()
            method = RESPONSE_URL_METHOD if path.startswith("/response/") else path.removeprefix("/api/")
            failure = sim._outage_failure(method) or sim._take_failure(method)
            status, body, headers = 200, {}, {}
            retry_after = sim._paced(method, params, arrived) if failure is None else None
            if retry_after is not None:
                status, body = 429, {"ok": False, "error": "ratelimited"}
                headers["Retry-After"] = str(retry_after)
            elif failure is not None:
                if failure.delay:
                    time.sleep(failure.delay)
                status = failure.status
                body = {"ok": False, "error": failure.error or ("ratelimited" if status == 429 else "fatal")}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
            elif method == RESPONSE_URL_METHOD:
                body = sim.answer_response_url(path, params)
                status = 200 if body.get("ok") else 400
            else:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                body = sim._answer(method, params, token or str(params.get("token") or ""))
                time.sleep(sim._slow.get(method, 0.0))
            sim.record(Call(method=method, params=params, path=path, status=status, response=body, at=arrived))
            if method == RESPONSE_URL_METHOD and status == 200:
                self._send(status, b"ok", "text/plain", headers)
            elif method == RESPONSE_URL_METHOD:
                self._send(status, str(body.get("error")).encode(), "text/plain", headers)
            else:
                self._send(status, json.dumps(body).encode(), "application/json", headers)

        do_GET = _handle
        do_POST = _handle

    return Handler


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def blocks_of(call: Call) -> list[dict[str, Any]]:
    """The blocks of a recorded message call, or of the view of a recorded views call."""
    if "view" in call.params:
        view = call.params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        return list(view.get("blocks") or [])
    blocks = call.params.get("blocks") or []
    return list(json.loads(blocks) if isinstance(blocks, str) else blocks)


def text_of(call: Call) -> str:
    """Everything a person would read in a recorded call: its ``text`` and every text in its blocks."""
    found: list[str] = [str(call.params.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks_of(call))
    return "\n".join(found)
