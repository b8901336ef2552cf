"""The HTTP gate of ``POST /slack/events``: the body limit and Slack's signature check, before Bolt sees a request.

``slack_installer`` mounts the path on the FastAPI app; ``read_limited_body`` and ``SlackEdge`` are the gate a request
passes first, and only then is Bolt's dispatch run, on a thread of its own, never on the event loop; the answer
goes out at the ack.

This is wiring: it may import anything. It never reads the environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest, BoltResponse
from starlette.datastructures import Headers

from bot.app import Installer
from bot.services import Services
from bot.slack import LISTENER_THREADS
from bot.slack_dispatch import dispatch_at_ack
from handlers.api_parse import MAX_BODY_BYTES  # one limit for the REST API and Slack alike
from handlers.payloads import request_shape_problem

log = logging.getLogger("bot.slack")  # the Slack edge logs under one name


def slack_installer(bolt_app: App, *, signing_secret: str, clock: Callable[[], float] = time.time) -> Installer:
    """An installer for ``bot.app.build_app`` that mounts ``POST /slack/events`` (commands, interactivity, events).

    ``POST /slack/events`` is public by necessity, so every request passes ``SlackEdge`` first: a body over
    ``MAX_BODY_BYTES`` is refused with 413 before it is read (by its ``Content-Length``, or as soon as a chunked body
    passes the limit), and a request without a valid signature is refused with 401 and one log line (why, and from
    where: never the body, nor its headers). Only then does Bolt see it: its dispatch (ack, listeners) runs on a
    thread of a pool of ``LISTENER_THREADS``, and the answer goes out as soon as the listener acks
    (``bot.slack_dispatch``).

    Args:
        bolt_app: the Bolt app (built with ``build_bolt_app``, which leaves the signature check to this edge).
        signing_secret: the app's signing secret (``SLACK_SIGNING_SECRET``).
        clock: the wall clock in seconds, for the age of a request's timestamp.
    """
    edge = SlackEdge(signing_secret, clock=clock)
    pool = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener")

    def install(app: FastAPI, _services: Services) -> None:
        async def slack_events(request: Request) -> Response:
            remote = request.client.host if request.client else "unknown"
            body = await read_limited_body(request)
            if body is None:
                log.info("refused a Slack request from %s: its body is over %d bytes", remote, MAX_BODY_BYTES)
                return _refused(413, f"Request body too large: at most {MAX_BODY_BYTES} bytes are accepted.")
            reason = edge.refusal(request.headers, body)
            if reason is not None:
                log.info("refused a Slack request from %s: %s", remote, reason)
                return _refused(401, "The request is not signed by Slack.")
            try:
                text = body.decode("utf-8")
                bolt_request = BoltRequest(body=text, query=request.url.query, headers=dict(request.headers))
                problem = request_shape_problem(bolt_request.body)
            except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
                problem = f"its body cannot be read ({type(exc).__name__})"
            if problem is not None:
                log.info("refused a signed Slack request from %s: %s", remote, problem)
                return _refused(400, "The request body is not a Slack request.")
            try:
                bolt_response = await _answer(bolt_app, bolt_request, pool)
            except Exception as exc:  # Bolt could not dispatch what it was given: the sender's fault, not jobgate's
                log.warning("refused a signed Slack request from %s: it cannot be dispatched (%s)", remote,
                            type(exc).__name__)
                return _refused(400, "The request body is not a Slack request.")
            return Response(status_code=bolt_response.status, content=bolt_response.body,
                            headers=bolt_response.first_headers_without_set_cookie())

        app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)

    return install



async def _answer(bolt_app: App, request: BoltRequest, pool: ThreadPoolExecutor) -> BoltResponse:
    """Bolt's answer to a request: dispatched on ``pool``, and back as soon as the listener acknowledges (its work
    after the ack goes on in that thread)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[BoltResponse] = loop.create_future()

    def settle(outcome: BoltResponse | Exception) -> None:
        if answer.done():
            return
        if isinstance(outcome, Exception):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)

    def answered(response: BoltResponse) -> None:
        loop.call_soon_threadsafe(settle, response)

    def dispatch() -> None:
        try:
            dispatch_at_ack(bolt_app, request, answered)
        except Exception as exc:
            loop.call_soon_threadsafe(settle, exc)

    pool.submit(dispatch)
    return await answer


MAX_REQUEST_AGE = 5 * 60
"""Seconds a signed request's timestamp may be away from now (Slack's rule against replays)."""


async def read_limited_body(request: Request) -> bytes | None:
    """The request body, or None when it is over ``MAX_BODY_BYTES``: by its ``Content-Length`` before anything is
    read, else as soon as the chunks read so far pass the limit (nothing more is read)."""
    declared = request.headers.getlist("content-length")
    if any(not value.strip().isdigit() or int(value) > MAX_BODY_BYTES for value in declared):
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            return None
    return bytes(raw)


class SlackEdge:
    """Slack's request signature check (``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``), done before Bolt sees a
    request, so that a refusal is answered quietly: a reason for one log line, nothing of the request itself.

    Args:
        signing_secret: the app's signing secret.
        clock: the wall clock in seconds.
    """

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock

    def refusal(self, headers: Headers, body: bytes) -> str | None:
        """Why this request is refused, or None when Slack signed it within ``MAX_REQUEST_AGE`` seconds of now."""
        timestamps = headers.getlist("x-slack-request-timestamp")
        signatures = headers.getlist("x-slack-signature")
        if not timestamps or not signatures:
            return "no signature or timestamp"
        if len(timestamps) > 1 or len(signatures) > 1:
            return "more than one signature or timestamp"
        timestamp = timestamps[0].strip()
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            return "the timestamp is not a number of seconds"
        age = self._clock() - int(timestamp)
        if abs(age) > MAX_REQUEST_AGE:
            return f"the timestamp is {abs(int(age))} seconds {'old' if age > 0 else 'ahead'}"
        if not self._secret:
            return "no signing secret is configured"
        expected = "v0=" + hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signatures[0].strip().encode("utf-8", errors="replace")):
            return "the signature does not match"
        return None


def _refused(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)

