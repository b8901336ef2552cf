"""Fuzzing ``POST /slack/events``, the one public path: random and malformed bodies, content types, encodings and
signature headers, signed and unsigned. Whatever arrives, jobgate answers 4xx or 2xx, never 5xx, logs no error or
traceback, and its memory stays bounded, oversized bodies included.

Hypothesis runs derandomized with a fixed budget, so every CI run sends the same requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.slack.conftest import SIGNING_SECRET, Stack

MIB = 1024 * 1024

CONTENT_TYPES = st.one_of(
    st.sampled_from([
        "application/x-www-form-urlencoded", "application/json", "application/x-www-form-urlencoded; charset=latin-1",
        "application/json; charset=utf-16", "text/plain", "multipart/form-data; boundary=x", "", "*/*",
        "application/x-www-form-urlencoded; charset=utf-8; charset=utf-8",
    ]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(str.strip),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
SLACK_KEYS = st.sampled_from(["type", "command", "text", "user_id", "payload", "event", "actions", "view", "team_id",
                              "challenge", "ssl_check", "token", "response_url", "trigger_id", "callback_id"])
SLACK_LIKE = st.dictionaries(SLACK_KEYS, JSON_VALUES, max_size=6)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Bodies shaped like Slack's and like nothing at all."""
    kind = draw(st.sampled_from(["bytes", "form", "payload", "json", "broken-percent", "invalid-utf8", "command"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "form":
        pairs = draw(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=6))
        return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()
    if kind == "payload":
        payload = draw(st.one_of(SLACK_LIKE.map(json.dumps), st.text(max_size=60), JSON_VALUES.map(json.dumps)))
        return ("payload=" + quote(payload)).encode()
    if kind == "json":
        return json.dumps(draw(st.one_of(SLACK_LIKE, JSON_VALUES))).encode()
    if kind == "broken-percent":
        return draw(st.sampled_from([b"payload=%7B%", b"payload=%zz", b"command=%2&text=%", b"%", b"payload=%ff%fe",
                                     b"payload=%7B%22type%22%3A%22block_actions%22", b"=&=&&==", b"payload"]))
    if kind == "invalid-utf8":
        return draw(st.sampled_from([b"\xff\xfe", b"payload=\xc3\x28", b"text=\xed\xa0\x80", b"\x80" * 40]))
    return ("command=%2Fjobs&user_id=U" + quote(draw(st.text(max_size=8))) + "&text="
            + quote(draw(st.text(max_size=60)))).encode()


def sign(timestamp: str, body: bytes) -> str:
    """Slack's signature of these exact bytes (``v0:{timestamp}:{body}``, HMAC-SHA256), whatever they decode to."""
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


@st.composite
def signature_headers(draw: st.DrawFn, body: bytes) -> list[tuple[str, str]]:
    """The signature headers: none, correct, stale, wrong, duplicated, or a timestamp that is no number."""
    now = str(int(time.time()))
    good = sign(now, body)
    kind = draw(st.sampled_from(["signed", "signed", "signed", "none", "stale", "wrong", "duplicate", "bad-timestamp",
                                 "only-timestamp", "only-signature"]))
    if kind == "signed":
        return [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", good)]
    if kind == "stale":
        old = str(int(time.time()) - 600)
        return [("X-Slack-Request-Timestamp", old), ("X-Slack-Signature", sign(old, body))]
    if kind == "wrong":
        return [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", draw(st.sampled_from(
            ["v0=" + "0" * 64, "v0=", "", "v1=abc", good.upper(), good + "0"])))]
    if kind == "duplicate":
        return [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", good), ("X-Slack-Signature", good)]
    if kind == "bad-timestamp":
        printable = st.characters(min_codepoint=32, max_codepoint=126)
        timestamp = draw(st.text(alphabet=printable, max_size=30).map(str.strip))
        return [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", good)]
    if kind == "only-timestamp":
        return [("X-Slack-Request-Timestamp", now)]
    if kind == "only-signature":
        return [("X-Slack-Signature", good)]
    return []


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    body = draw(bodies())
    headers = [("Content-Type", draw(CONTENT_TYPES)), *draw(signature_headers(body))]
    extra = draw(st.sampled_from(["", "", "", "huge-header", "retry", "encoding"]))
    if extra == "huge-header":
        headers.append(("X-Padding", "a" * draw(st.sampled_from([4000, 12000, 70000]))))
    elif extra == "retry":
        headers += [("X-Slack-Retry-Num", draw(st.sampled_from(["1", "x", "-1"]))), ("X-Slack-Retry-Reason", "http")]
    elif extra == "encoding":
        headers.append(("Content-Encoding", draw(st.sampled_from(["gzip", "br", "identity", "bogus"]))))
    return body, headers


def quiet(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the server logged at ERROR or above, or with a traceback."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]


def test_fuzzed_requests_never_get_a_5xx_nor_log_an_error(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    statuses: list[int] = []

    @settings(max_examples=600, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(request=requests())
    def one(request: tuple[bytes, list[tuple[str, str]]]) -> None:
        body, headers = request
        caplog.clear()
        with caplog.at_level(logging.INFO):
            try:
                response = stack.slack.http.post("/slack/events", content=body, headers=headers, timeout=10)
            except httpx.TransportError:  # uvicorn drops a request whose headers pass its limit, as it should
                if sum(len(value) for _, value in headers) > 16 * 1024:
                    return
                raise
            statuses.append(response.status_code)
            assert response.status_code < 500, (response.status_code, response.text, body, headers)
            assert "Traceback" not in response.text
            assert quiet(caplog) == [], (body, headers)

    one()
    assert any(s == 401 for s in statuses) and any(s < 300 or s in (400, 404) for s in statuses)


def _rss_peak_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def _send_oversized(base_url: str, *, chunked: bool, size: int) -> int:
    url = urlsplit(base_url)
    head = "POST /slack/events HTTP/1.1\r\nHost: slack\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
    piece = b"text=" + b"a" * (256 * 1024 - 5)
    frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=20) as conn:
        conn.sendall(head.encode())
        try:
            for _ in range(size // len(piece)):
                conn.sendall(frame)
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except OSError:  # refused and closed before the whole body was sent: as it should be
            pass
        try:
            while b"\r\n" not in answer:
                part = conn.recv(4096)
                if not part:
                    break
                answer += part
        except OSError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_memory_stays_bounded_after_many_oversized_requests(stack: Stack) -> None:
    _send_oversized(stack.slack.base_url, chunked=False, size=2 * MIB)  # warm up the paths once
    Path("/proc/self/clear_refs").write_text("5")  # the peak RSS starts again from the current RSS
    start = _rss_peak_kib()
    statuses = [_send_oversized(stack.slack.base_url, chunked=chunked, size=64 * MIB)
                for chunked in (False, True) for _ in range(3)]
    grown_mib = (_rss_peak_kib() - start) / 1024
    print(f"peak RSS grew by {grown_mib:.1f} MiB over 6 requests of 64 MiB")
    assert set(statuses) == {413}
    assert grown_mib < 32
