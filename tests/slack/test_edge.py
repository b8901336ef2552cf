"""The public edge of ``POST /slack/events``: oversized bodies are refused with 413 before they are read, and a
request that is not correctly signed is refused with 401 and one quiet log line that holds nothing of the request.

Everything goes over real HTTP to the real app; the log is what the server's loggers emit (``caplog``).
"""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.slack.conftest import Stack

FORM = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 1024 * 1024  # the promise: bodies over 1 MiB are refused


def raw_exchange(base_url: str, head: str, chunks: list[bytes] = ()) -> tuple[int, bytes]:  # type: ignore[assignment]
    """Send ``head`` (request line and headers) and then ``chunks`` on a raw socket; the status and bytes answered.

    The server may answer (and close) before every chunk is sent: sending then stops, and the answer is read.
    """
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(head.encode())
        for chunk in chunks:
            try:
                conn.sendall(chunk)
            except OSError:
                break
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _declared_length(answer):
            try:
                part = conn.recv(65536)
            except OSError:
                break
            if not part:
                break
            answer += part
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer


def _declared_length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_body_declared_over_1_mib_is_refused_with_413_before_it_is_sent(stack: Stack) -> None:
    head = ("POST /slack/events HTTP/1.1\r\nHost: slack\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {64 * 1024 * 1024}\r\n\r\n")
    status, answer = raw_exchange(stack.slack.base_url, head)  # not one byte of the 64 MiB is sent
    assert status == 413, answer
    assert b"at most 1048576 bytes" in answer


def test_a_chunked_body_over_1_mib_is_refused_with_413(stack: Stack) -> None:
    head = ("POST /slack/events HTTP/1.1\r\nHost: slack\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    piece = b"a" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MAX_BODY_BYTES // len(piece) + 2) + [b"0\r\n\r\n"]
    status, answer = raw_exchange(stack.slack.base_url, head, chunks)
    assert status == 413, answer


def test_a_body_of_exactly_1_mib_is_still_read(stack: Stack) -> None:
    body = stack.slack.command_body("list", user_id="UALICE")
    body += "&padding=" + "x" * (MAX_BODY_BYTES - len(body) - len("&padding="))
    assert len(body) == MAX_BODY_BYTES
    assert stack.slack.post(body, content_type=FORM, kind="command").status == 200


def test_a_stale_signed_request_is_refused_and_nothing_of_it_reaches_the_log(stack: Stack,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    body = stack.slack.command_body("run secrets.Login password=hunter2", user_id="UALICE")
    with caplog.at_level(logging.DEBUG):
        ack = stack.slack.post(body, content_type=FORM, kind="command", timestamp=int(time.time()) - 6 * 60)
        ack_wrong_secret = stack.slack.post(body, content_type=FORM, kind="command", secret="rotated-secret")
    assert (ack.status, ack_wrong_secret.status) == (401, 401)
    logged = caplog.text
    assert "hunter2" not in logged and "secrets.Login" not in logged and "v0=" not in logged
    refusals = [r.getMessage() for r in caplog.records if "refused a Slack request" in r.getMessage()]
    assert len(refusals) == 2, refusals
    assert "from 127.0.0.1" in refusals[0] and "seconds old" in refusals[0]
    assert "from 127.0.0.1" in refusals[1] and "signature does not match" in refusals[1]
    assert stack.fake.calls_to("response_url") == []


@pytest.mark.parametrize("timestamp", ["yesterday", "1.7e9", "", "17 00", "-5", "0x65", "9" * 40])
def test_a_timestamp_that_is_not_a_number_gets_401_quietly(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                           timestamp: str) -> None:
    body = stack.slack.command_body("list", user_id="UALICE")
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    with caplog.at_level(logging.DEBUG):
        response = stack.slack.http.post("/slack/events", content=body.encode(), headers=headers)
    assert response.status_code == 401
    assert "Something went wrong" not in response.text
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert stack.fake.calls_to("response_url") == []


def test_duplicate_or_missing_signature_headers_get_401(stack: Stack) -> None:
    body = stack.slack.command_body("list", user_id="UALICE")
    ts = str(int(time.time()))
    from slack_sdk.signature import SignatureVerifier

    good = SignatureVerifier(stack.settings.slack_signing_secret or "").generate_signature(timestamp=ts, body=body)
    assert good is not None
    cases = [
        [("X-Slack-Request-Timestamp", ts)],
        [("X-Slack-Signature", good)],
        [("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", good), ("X-Slack-Signature", "v0=bad")],
        [("X-Slack-Request-Timestamp", ts), ("X-Slack-Request-Timestamp", "1"), ("X-Slack-Signature", good)],
    ]
    for headers in cases:
        response = stack.slack.http.post("/slack/events", content=body.encode(),
                                         headers=[("Content-Type", FORM), *headers])
        assert response.status_code == 401, headers
    assert stack.fake.calls_to("response_url") == []
