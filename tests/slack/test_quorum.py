"""Approval rules in Slack: a request that needs two approvals, its message as approvals come in, and five approvers
clicking at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Actor, Policy
from bot.domain.policy_file import parse_policy
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput
from tests.conftest import ADMIN, POLICY_YAML
from tests.fake_slack import text_of
from tests.slack.conftest import (
    APPROVAL_CHANNEL,
    APPROVER_GROUP,
    Stack,
    buttons,
    dispatch_and_run,
    press,
    request_now,
)

RULES = """
approval_rules:
  - jobs: ["testjobs.ApprovalJob"]
    min_approvers: 2
    expire_after: 1d
  - jobs: ["Test pass"]
    min_approvers: 2
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY_YAML + RULES, source="quorum test policy")


def test_the_first_of_two_approvals_shows_who_approved_and_keeps_approve_for_the_others(stack: Stack) -> None:
    scheduled_job_id = request_now(stack)
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    expires = int((stack.clock.now.replace(day=16)).timestamp())
    assert f"expires <!date^{expires}^" in text_of(message)
    assert message.params["blocks"][0]["text"]["text"].startswith("⏳ *Approval needed* · 0 of 2 approvals")
    assert "0 of 2 approvals so far" in message.params["text"]

    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.deliver()
    updated = stack.fake.calls_to("chat.update")[-1]
    assert updated.params["blocks"][0]["text"]["text"].startswith("⏳ *Approval needed* · 1 of 2 approvals")
    assert "Approved so far by <@UAPPROVER> — 1 of 2 needed" in text_of(updated)
    assert "1 of 2 approvals so far" in updated.params["text"]
    assert len(stack.fake.calls_to("response_url")) == 1  # the message says it: no private "done" besides
    assert [b["text"]["text"] for b in buttons(updated)] == ["Approve", "Deny", "Dry run"]
    assert stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approval_state is ApprovalState.PENDING
    assert stack.posted("UALICE") == []  # the requester hears when it is decided, not before

    press(stack, message, "Approve", user_id="UAPPROVER")  # the same person again
    again = stack.fake.wait_for("response_url", 2)[-1]
    assert "You have already approved this request; it needs another approver too" in text_of(again)

    press(stack, message, "Approve", user_id="UAPPROVER2")
    stack.deliver()
    decided = stack.fake.calls_to("chat.update")[-1]
    assert "✅ *Approved* by <@UAPPROVER>, <@UAPPROVER2> (2 of 2) · <!date^" in text_of(decided)
    assert buttons(decided) == []
    assert len(stack.posted("UALICE")) == 1  # one "approved" DM
    assert len(dispatch_and_run(stack)) == 1


def test_one_denial_after_one_approval_denies(stack: Stack) -> None:
    scheduled_job_id = request_now(stack)
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Approve", user_id="UAPPROVER")
    press(stack, message, "Deny", user_id="UAPPROVER2")
    stack.fake.wait_for("views.open")
    stack.slack.submit(stack.opened_view(), user_id="UAPPROVER2")
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.DENIED
    assert dispatch_and_run(stack) == []


def test_five_approvers_clicking_at_once_approve_exactly_once_and_run_once(stack: Stack) -> None:
    scheduled_job_id = request_now(stack)
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    clickers = ["UAPPROVER", "UAPPROVER2", *APPROVER_GROUP[:3]]
    barrier = threading.Barrier(len(clickers))
    statuses: list[int] = []

    def click(user_id: str) -> None:
        barrier.wait()
        statuses.append(press(stack, message, "Approve", user_id=user_id).status)

    threads = [threading.Thread(target=click, args=(u,)) for u in clickers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 5
    answers = [text_of(c) for c in stack.fake.wait_for("response_url", 1 + 3)[1:]]
    assert len([a for a in answers if "already approved by" in a]) == 3  # the two who approved hear nothing more
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.APPROVED and len(record.approvals) == 2
    stack.deliver()
    assert len(stack.posted("UALICE")) == 1  # one "approved" DM
    assert len(dispatch_and_run(stack)) == 1
    assert len(stack.services.listings.list_job_results(ADMIN).items) == 1


def test_a_schedule_whose_job_now_requires_approval_needs_the_quorum_of_its_rule(stack: Stack, jobs_dir: Path) -> None:
    start = stack.clock.now + timedelta(minutes=30)
    outcome = stack.services.requests.request_job(
        actor=Actor("UALICE"), job="testjobs.TestPass", now=stack.clock.now,
        schedule=ScheduleInput(interval="hourly", name="pass hourly", start_time=start))
    assert outcome.scheduled_job is not None and not outcome.needs_approval
    module = jobs_dir / "testjobs.py"
    module.write_text(module.read_text().replace(
        '        name = "Test pass"\n', '        name = "Test pass"\n        approval_required = True\n', 1))
    stack.services.management.sync_jobs(now=stack.clock.now)
    stack.clock.advance(minutes=31)
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock,
               deps=stack.core.deps).dispatch_all_due(now=stack.clock.now)
    record = stack.services.listings.get_scheduled_job(ADMIN, outcome.scheduled_job.id)
    assert record.approval_state is ApprovalState.PENDING and record.min_approvers == 2
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.deliver()
    assert "1 of 2 approvals so far" in stack.fake.calls_to("chat.update")[-1].params["text"]
    assert stack.services.listings.get_scheduled_job(ADMIN, record.id).approval_state is ApprovalState.PENDING
