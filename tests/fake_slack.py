"""A fake Slack Web API: a real HTTP server on 127.0.0.1 (ephemeral port) for the tests and the benchmark.

It answers the methods jobgate uses (``auth.test``, ``chat.postMessage/update/postEphemeral``, ``views.open/update/
push/publish``, ``users.info``, ``usergroups.list``, ``usergroups.users.list``, ``conversations.open``, and
``apps.connections.open`` for Socket Mode; ``files.getUploadURLExternal``, the upload URL it hands out and
``files.completeUploadExternal``, which ``files_upload_v2`` uses: shared files are kept in ``files``) whether the
arguments come as a query string (GET), a form or JSON,
records every call with its decoded parameters, serves ``response_url`` paths (``/response/<id>``), fails on
demand (HTTP 500, 429 with ``Retry-After``, ``ok: false`` errors, or slow answers: timeouts), fails every Web API
call for a time window (``outage``: 500 and 429 with ``Retry-After`` in turn), and answers slowly but well on demand
(``slow``). With ``pace()`` it enforces Slack's pace: one ``chat.postMessage`` per second per channel, more answered
429 with ``Retry-After``.
``wait_for(method, count, timeout)`` waits for calls made after an ack.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RESPONSE_URL_METHOD = "response_url"
"""The ``method`` recorded for a POST to a ``response_url``."""
UPLOAD_METHOD = "file_upload"
"""The ``method`` recorded for a POST of a file's bytes to the URL ``files.getUploadURLExternal`` handed out."""


@dataclass(frozen=True)
class SharedFile:
    """A file uploaded and shared with ``files.completeUploadExternal``."""

    id: str
    filename: str
    title: str
    content: str
    channel: str
    thread_ts: str | None
    initial_comment: str | None


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


class FakeSlack:
    """The fake server. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Attributes:
        users: user ID → profile fields returned by ``users.info`` (``tz`` at least).
        usergroups: handle → (usergroup ID, member user IDs).
        socket_mode_url: the WebSocket URL ``apps.connections.open`` hands out (``tests.fake_socket_mode``); None
            answers it with an error.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, tuple[str, list[str]]] = {}
        self.socket_mode_url: str | None = None
        self._failures: list[Failure] = []
        self._slow: dict[str, float] = {}
        self._outage_until = 0.0
        self._outage_statuses: Iterator[int] = iter(())
        self._outage_retry_after = 1
        self._pace: float | None = None
        self._last_post: dict[str, float] = {}
        self.rate_limited = 0
        self._uploads: dict[str, dict[str, Any]] = {}
        self.files: list[SharedFile] = []
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)

    # ---------------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The Web API base URL (for ``JOBGATE_SLACK_API_URL``), with its trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def response_url(self, name: str = "r") -> str:
        """A ``response_url`` served by this fake."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/response/{name}-{next(self._ts)}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
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

    # ---------------------------------------------------------------------------------------------- answers

    def _answer(self, method: str, params: dict[str, Any], token: str = "") -> dict[str, Any]:
        ts = f"{1_700_000_000 + next(self._ts)}.{next(self._ts):06d}"
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):  # Slack wants the app-level token here, never the bot token
                return {"ok": False, "error": "not_allowed_token_type"}
            if self.socket_mode_url is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "auth.test":
            return {"ok": True, "url": "https://jobgate-test.slack.com/", "team": "Test", "user": "jobgate",
                    "team_id": "T0TEST", "user_id": "UJOBGATEBOT", "bot_id": "BJOBGATE"}
        if method in ("chat.postMessage", "chat.update"):
            channel = str(params.get("channel", ""))
            if channel.startswith(("U", "W")):
                channel = "D" + channel[1:]
            return {"ok": True, "channel": channel, "ts": str(params.get("ts") or ts),
                    "message": {"text": params.get("text"), "blocks": params.get("blocks")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else dict(view or {})
            return {"ok": True, "view": {**view, "id": f"V{next(self._ts)}", "hash": f"h{next(self._ts)}"}}
        if method == "users.info":
            user_id = str(params.get("user", ""))
            if user_id not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user_id, **self.users[user_id]}}
        if method == "usergroups.list":
            include = str(params.get("include_users", "")).lower() in ("1", "true")
            return {"ok": True, "usergroups": [
                {"id": gid, "handle": handle, **({"users": list(users)} if include else {})}
                for handle, (gid, users) in self.usergroups.items()
            ]}
        if method == "usergroups.users.list":
            for gid, users in self.usergroups.values():
                if gid == params.get("usergroup"):
                    return {"ok": True, "users": list(users)}
            return {"ok": False, "error": "no_such_subteam"}
        if method == "files.getUploadURLExternal":
            length = str(params.get("length", ""))
            if not params.get("filename") or not length.isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):08d}"
            with self._lock:
                self._uploads[file_id] = {"filename": str(params["filename"]), "length": int(length), "data": None}
            host, port = self._server.server_address[:2]
            return {"ok": True, "file_id": file_id, "upload_url": f"http://{host!s}:{port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            channel = str(params.get("channel_id") or "")
            shared = []
            with self._lock:
                for item in files or []:
                    upload = self._uploads.get(str(item.get("id")))
                    if upload is None or upload["data"] is None:
                        return {"ok": False, "error": "file_not_found"}
                    shared.append(SharedFile(
                        id=str(item["id"]), filename=upload["filename"], title=str(item.get("title") or ""),
                        content=upload["data"].decode(), channel=channel, thread_ts=params.get("thread_ts"),
                        initial_comment=params.get("initial_comment")))
                if not shared or not channel:
                    return {"ok": False, "error": "invalid_arguments"}
                self.files.extend(shared)
            return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title} for f in shared]}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}
        return {"ok": False, "error": "unknown_method"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _upload(self) -> tuple[int, bytes]:
                """Receive a file's bytes at an upload URL (Slack answers 200 ``OK - <length>``)."""
                file_id = urlsplit(self.path).path.removeprefix("/upload/")
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    upload = fake._uploads.get(file_id)
                    if upload is None or upload["length"] != len(raw):
                        status, answer = 400, b"invalid upload"
                    else:
                        upload["data"] = raw
                        status, answer = 200, f"OK - {len(raw)}".encode()
                    fake.calls.append(Call(method=UPLOAD_METHOD, params={"file_id": file_id, "length": len(raw)},
                                           path=self.path, status=status))
                    fake._lock.notify_all()
                return status, answer

            def _params(self) -> dict[str, Any]:
                split = urlsplit(self.path)
                params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if raw and kind == "application/json":
                    params.update(json.loads(raw))
                elif raw:
                    for key, value in parse_qsl(raw.decode(), keep_blank_values=True):
                        json_keys = ("blocks", "view", "attachments", "files")
                        params[key] = _maybe_json(value) if key in json_keys else value
                return params

            def _handle(self) -> None:
                arrived = time.monotonic()
                path = urlsplit(self.path).path
                if path.startswith("/upload/"):
                    status, answer = self._upload()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                params = self._params()
                method = RESPONSE_URL_METHOD if path.startswith("/response/") else path.removeprefix("/api/")
                failure = fake._outage_failure(method) or fake._take_failure(method)
                status, body, headers = 200, {}, {}
                retry_after = fake._paced(method, params, arrived) if failure is None else None
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
                    body = {"ok": True}
                else:
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    body = fake._answer(method, params, token or str(params.get("token") or ""))
                    time.sleep(fake._slow.get(method, 0.0))
                call = Call(method=method, params=params, path=path, status=status, response=body, at=arrived)
                with fake._lock:
                    fake.calls.append(call)
                    fake._lock.notify_all()
                payload = b"ok" if method == RESPONSE_URL_METHOD and status == 200 else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain" if payload == b"ok" else "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

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


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it is true.

    Raises:
        AssertionError: it stayed false for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
