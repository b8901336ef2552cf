"""When something fails, before or after the ack: a refusal goes to the acting user alone; anything else is logged
with its traceback and the user is told only that something went wrong (``bot.slack.ListenerGuard``). Acks never wait
for the work behind them."""

from __future__ import annotations

import logging
import threading

import pytest
from slack_sdk.errors import SlackApiError

from bot.domain.approvals import ApprovalState
from bot.slack import SOMETHING_WENT_WRONG, WORK_SLOTS
from handlers import ids
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVER_GROUP, Stack, press
from tests.slack.test_approvals import approval_message, request_approval
from tests.slack_requests import Ack


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The failures jobgate's Slack edge logged with a traceback."""
    return [r for r in caplog.records if r.name == "bot.slack" and r.levelno >= logging.ERROR and r.exc_info]


def nothing_shown_but_the_notice(text: str) -> None:
    assert SOMETHING_WENT_WRONG in text
    assert "Traceback" not in text and "Error" not in text and "invalid_arguments" not in text


def test_a_click_whose_work_fails_after_the_ack_says_something_went_wrong(stack: Stack,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    request_approval(stack)
    message = approval_message(stack)
    stack.fake.fail("views.open", status=200, error="invalid_arguments")  # the reason modal cannot be opened
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        ack = press(stack, message, "Deny", user_id="UAPPROVER")
        reply = stack.fake.wait_for("response_url", 2)[-1]
    assert ack.status == 200 and ack.body == "" and ack.elapsed < 3
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    nothing_shown_but_the_notice(text_of(reply))
    [logged] = failures(caplog)
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], SlackApiError)
    assert "handle_deny_button" in (logged.exc_text or "")  # the traceback, down to the listener


def test_a_command_whose_work_fails_after_the_ack_says_something_went_wrong(stack: Stack,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    stack.fake.fail("views.open", status=200, error="invalid_arguments")  # the run modal cannot be opened
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        ack = stack.slack.command("run testjobs.APITestJob", user_id="UALICE")
        reply = stack.fake.wait_for("response_url")[-1]
    assert ack.status == 200 and ack.body == "" and ack.elapsed < 3
    assert reply.params["response_type"] == "ephemeral"
    nothing_shown_but_the_notice(text_of(reply))
    [logged] = failures(caplog)
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], SlackApiError)


def test_a_submission_that_cannot_be_read_says_something_went_wrong_in_the_modal(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    stack.slack.command("run testjobs.APITestJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        ack = stack.slack.submit(modal, user_id="UALICE", state={"values": {"var:var1": ["not", "an", "element"]}})
    assert ack.status == 200 and ack.json is not None and ack.json["response_action"] == "update"
    notice = ack.json["view"]
    assert notice["callback_id"] == ids.NOTICE_MODAL
    nothing_shown_but_the_notice(str(notice["blocks"]))
    [logged] = failures(caplog)
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], AttributeError)
    assert stack.services.listings.list_scheduled_jobs(ADMIN).count == 0
    assert stack.services.listings.list_job_results(ADMIN).count == 0


def test_a_refusal_in_a_modal_without_inputs_replaces_it_with_a_notice(stack: Stack,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    stack.clock.advance(days=2)  # past due since the message was drawn: Approve asks in a modal
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["callback_id"] == ids.PAST_DUE_MODAL
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        ack = stack.slack.submit(modal, user_id="UVIEWER")
    assert ack.json is not None and ack.json["response_action"] == "update"
    assert "You can't approve this request: approving it needs the approve permission" in str(
        ack.json["view"]["blocks"])
    assert stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approval_state is ApprovalState.PENDING
    assert failures(caplog) == []  # a refusal is an answer, not a failure


def test_a_burst_of_clicks_is_acknowledged_at_once_and_worked_a_few_at_a_time(stack: Stack) -> None:
    request_approval(stack)
    message = approval_message(stack)
    slow = 1.5
    stack.fake.slow("views.open", slow)  # each Deny click's work takes this long
    clickers = APPROVER_GROUP[:2 * WORK_SLOTS]
    barrier = threading.Barrier(len(clickers))
    acks: list[Ack] = []

    def click(user_id: str) -> None:
        barrier.wait()
        acks.append(press(stack, message, "Deny", user_id=user_id))

    threads = [threading.Thread(target=click, args=(user_id,)) for user_id in clickers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status for a in acks] == [200] * len(clickers)
    assert max(a.elapsed for a in acks) < slow  # no ack waited for the work of the clicks before it
    opened = stack.fake.wait_for("views.open", len(clickers), timeout=4 * slow + 5)
    arrivals = sorted(call.at for call in opened)
    at_once = max(sum(1 for start in arrivals if start <= t < start + slow) for t in arrivals)
    assert at_once == WORK_SLOTS
