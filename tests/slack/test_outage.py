"""While the database cannot be reached, a Slack user who types a command, clicks a button or submits a modal is told
so, privately ("jobgate cannot reach its database; try again shortly"), never "something went wrong"; once the
database is back the same action works."""

from __future__ import annotations

import logging

import pytest

from bot.slack import SOMETHING_WENT_WRONG
from handlers import ids
from storage.db import Database
from tests.conftest import ADMIN, Outage
from tests.fake_slack import text_of, wait_until
from tests.slack.conftest import Stack, press
from tests.slack.test_approvals import approval_message, request_approval, state

UNAVAILABLE = "jobgate cannot reach its database; try again shortly."


@pytest.fixture
def database(outage: Outage) -> Database:
    """The stack's database is the one the test can take away."""
    return outage.db


def test_a_command_during_an_outage_is_answered_privately_and_works_once_the_database_is_back(
    stack: Stack, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    outage.cut()
    with caplog.at_level(logging.WARNING, logger="bot.slack"):
        ack = stack.slack.command("run testjobs.TestPass --now", user_id="UALICE")
        [reply] = stack.fake.wait_for("response_url", timeout=10)
    assert ack.status == 200 and ack.elapsed < 3
    assert reply.params["response_type"] == "ephemeral"
    assert UNAVAILABLE in text_of(reply) and SOMETHING_WENT_WRONG not in text_of(reply)
    assert any("database is unavailable" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # an outage is not a bug: no traceback
    outage.restore()
    stack.slack.command("run testjobs.TestPass --now", user_id="UALICE")
    replies = stack.fake.wait_for("response_url", count=2, timeout=10)
    assert UNAVAILABLE not in text_of(replies[-1])
    assert stack.services.listings.list_job_results(ADMIN).count == 1  # the run asked for after the outage


def test_a_button_click_during_an_outage_is_answered_privately(stack: Stack, outage: Outage) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    outage.cut()
    ack = press(stack, message, "Approve", user_id="UAPPROVER")
    reply = stack.fake.wait_for("response_url", count=2, timeout=10)[-1]
    assert ack.status == 200 and ack.elapsed < 3
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    assert UNAVAILABLE in text_of(reply)
    outage.restore()
    assert state(stack, scheduled_job_id) == "pending"  # nothing was half done
    press(stack, message, "Approve", user_id="UAPPROVER")  # the work goes on after the ack
    wait_until(lambda: state(stack, scheduled_job_id) == "approved", timeout=10)


def test_a_modal_submitted_during_an_outage_shows_the_error_in_the_modal(stack: Stack, outage: Outage) -> None:
    stack.slack.command("run testjobs.ApprovalJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    outage.cut()
    ack = stack.slack.submit(modal, user_id="UALICE")
    assert ack.status == 200 and ack.json is not None
    assert ack.json == {"response_action": "errors", "errors": {ids.SCHEDULE_TYPE_BLOCK: UNAVAILABLE}}
    outage.restore()
    ack = stack.slack.submit(modal, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update"
