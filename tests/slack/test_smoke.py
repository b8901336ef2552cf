"""Smoke: the app answers signed requests, refuses unsigned and stale ones."""

from __future__ import annotations

import time

from tests.fake_slack import text_of
from tests.slack.conftest import Stack


def test_help_in_the_ack(stack: Stack) -> None:
    ack = stack.slack.command("help", user_id="UALICE")
    assert ack.status == 200 and ack.json is not None
    assert ack.json["response_type"] == "ephemeral"
    assert "/jobs run" in ack.json["blocks"][1]["text"]["text"]


def test_list(stack: Stack) -> None:
    ack = stack.slack.command("list", user_id="UALICE")
    assert ack.status == 200
    call = stack.fake.wait_for("response_url")[0]
    assert "testjobs.ApprovalJob" in text_of(call)
    assert call.params["response_type"] == "ephemeral"


def test_unsigned_and_stale_requests_get_401(stack: Stack) -> None:
    body = stack.slack.command_body("list", user_id="UALICE")
    assert stack.slack.post(body, content_type="application/x-www-form-urlencoded", kind="command",
                            signed=False).status == 401
    assert stack.slack.post(body, content_type="application/x-www-form-urlencoded", kind="command",
                            timestamp=int(time.time()) - 301).status == 401
    assert stack.slack.post(body, content_type="application/x-www-form-urlencoded", kind="command",
                            secret="not-the-secret").status == 401
    assert stack.fake.calls_to("response_url") == []
