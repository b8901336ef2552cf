"""Requests nobody decides: expiry, reminders and escalation by their approval rule, with the clock the test moves."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from bot.app import build_core
from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Policy
from bot.scheduler import ApprovalLoop
from storage.db import Database, read_tables
from tests.conftest import ADMIN
from tests.fake_slack import Call, text_of
from tests.slack.conftest import (
    APPROVAL_CHANNEL,
    ONCALL,
    Stack,
    approval_rule_policy,
    buttons,
    dispatch_and_run,
    press,
    request_now,
)


@pytest.fixture
def policy() -> Policy:
    return approval_rule_policy("deadline test policy")


def request_approved_once(stack: Stack) -> tuple[str, Call]:
    """Alice's request, approved by UAPPROVER in its message (one of the two approvals it needs): its id and the
    approval message."""
    scheduled_job_id = request_now(stack)
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.deliver()
    return scheduled_job_id, message


def test_a_request_nobody_decides_in_time_expires_its_message_loses_its_buttons_and_nothing_runs(
    stack: Stack,
) -> None:
    scheduled_job_id, message = request_approved_once(stack)
    stack.fake.calls.clear()

    expires_at = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).expires_at
    assert expires_at is not None
    stack.clock.now = expires_at - timedelta(seconds=1)
    stack.services.deadlines.handle_due(stack.clock.now)  # reminders and escalation, not expiry yet
    assert stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approval_state is ApprovalState.PENDING
    stack.deliver()
    stack.fake.calls.clear()
    stack.clock.now = expires_at
    handled = stack.services.deadlines.handle_due(stack.clock.now)
    assert handled == 1
    assert stack.services.deadlines.handle_due(stack.clock.now) == 0  # once
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.EXPIRED and not record.enabled

    stack.deliver()
    updated = [c for c in stack.fake.calls_to("chat.update")]
    assert updated and "*Expired*" in text_of(updated[-1]) and buttons(updated[-1]) == []
    (told,) = [c for c in stack.posted("UALICE") if "expired" in text_of(c)]
    assert "nobody decided on it in time (1 of 2 approvals)" in text_of(told)
    assert dispatch_and_run(stack) == []

    press(stack, message, "Approve", user_id="UAPPROVER2")
    refused = stack.fake.wait_for("response_url", 1)[-1]
    assert "has expired" in text_of(refused)


def test_approvers_who_have_not_acted_are_reminded_in_the_thread_then_on_call_is_asked_and_may_approve(
    stack: Stack,
) -> None:
    scheduled_job_id, message = request_approved_once(stack)

    assert stack.services.deadlines.handle_due(stack.clock.now + timedelta(hours=3, minutes=59)) == 0
    stack.clock.advance(hours=4)
    assert stack.services.deadlines.handle_due(stack.clock.now) == 1
    assert stack.services.deadlines.handle_due(stack.clock.now) == 0
    stack.deliver()
    replies = [c for c in stack.posted(APPROVAL_CHANNEL) if c.params.get("thread_ts")]
    assert len(replies) == 1
    reminder = replies[0]
    assert reminder.params["thread_ts"] == message.response["ts"]
    assert "<@UAPPROVER2>" in text_of(reminder) and "<@UAPPROVER>" not in text_of(reminder)
    assert "<@UALICE>" in text_of(reminder) and "1 of 2 approvals so far" in text_of(reminder)
    assert stack.posted(ONCALL) == []

    stack.clock.advance(hours=4)  # eight hours: the second reminder, and on-call is asked too
    assert stack.services.deadlines.handle_due(stack.clock.now) == 1
    stack.deliver()
    assert len([c for c in stack.posted(APPROVAL_CHANNEL) if c.params.get("thread_ts")]) == 2
    (asked,) = stack.posted(ONCALL)
    assert [b["text"]["text"] for b in buttons(asked)] == ["Approve", "Deny", "Dry run"]
    press(stack, asked, "Deny", user_id=ONCALL)  # on-call holds no permission of its own, yet may decide
    assert "Deny" in json.dumps(stack.fake.wait_for("views.open")[-1].params["view"])
    press(stack, asked, "Approve", user_id=ONCALL)
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.APPROVED
    assert [v.user_id for v in record.approvals] == ["UAPPROVER", ONCALL]
    assert len(dispatch_and_run(stack)) == 1
    stack.clock.advance(hours=4)
    assert stack.services.deadlines.handle_due(stack.clock.now) == 0  # decided: no more reminders


@pytest.mark.parametrize("approval_channel", [None])
def test_without_an_approval_channel_each_approver_who_has_not_acted_gets_a_direct_message(stack: Stack) -> None:
    request_now(stack)
    stack.deliver()
    (first,) = stack.posted("UAPPROVER")
    press(stack, first, "Approve", user_id="UAPPROVER")
    stack.deliver()
    before = {c.params["channel"]: len(stack.posted(c.params["channel"])) for c in stack.posted()}
    stack.clock.advance(hours=4)
    assert stack.services.deadlines.handle_due(stack.clock.now) == 1
    stack.deliver()
    reminded = [c for c in stack.posted() if "still waits for approval" in text_of(c)]
    channels = {c.params["channel"] for c in reminded}
    assert len(reminded) == len(channels)  # one message each
    assert not channels & {"UAPPROVER", "DAPPROVER", "UALICE", "DALICE"}
    assert channels & {"UAPPROVER2", "DAPPROVER2"}
    assert before  # the approval requests went out by DM first


def test_two_replicas_remind_escalate_and_expire_each_request_exactly_once(stack: Stack) -> None:
    """Two approval loops (as in two `jobgate serve` replicas) on one database, over many due requests at once."""
    for _ in range(12):
        assert stack.slack.command("run testjobs.ApprovalJob device=core-2", user_id="UALICE").status == 200
    stack.fake.wait_for("response_url", 12)
    assert stack.services.listings.list_approval_queue(ADMIN).count == 12
    other_db = Database.from_url(stack.settings.database_url)
    other = build_core(stack.settings, db=other_db, policy=stack.core.deps.policy, clock=stack.clock, migrate=False)
    loops = [ApprovalLoop(core.services.deadlines, poll=timedelta(milliseconds=20), clock=stack.clock)
             for core in (stack.core, other)]

    def audited(action: str) -> list[dict[str, object]]:
        return [r for r in read_tables(stack.core.db.engine, "audit_events")["audit_events"] if r["action"] == action]

    def wait(action: str, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(audited(action)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(audited(action)) >= count, f"{action}: {len(audited(action))} of {count}"

    for loop in loops:
        loop.start()
    try:
        stack.clock.advance(hours=8)  # the second reminder time, and escalation: both due at once
        for loop in loops:
            loop.wake()
        wait("scheduled_job.escalate", 12)
        wait("scheduled_job.remind", 12)
        stack.clock.advance(hours=16)  # expiry
        for loop in loops:
            loop.wake()
        wait("scheduled_job.expire", 12)
    finally:
        for loop in loops:
            loop.stop()
        other_db.dispose()
    assert len(audited("scheduled_job.remind")) == 12  # 4h and 8h were both due at the one pass: one reminder
    assert len(audited("scheduled_job.escalate")) == 12
    assert len(audited("scheduled_job.expire")) == 12
    outbox = read_tables(stack.core.db.engine, "outbox")["outbox"]
    assert len([e for e in outbox if e["kind"] == "approval_reminder"]) == 12
    assert len([e for e in outbox if e["kind"] == "request_expired"]) == 12
    assert len([e for e in outbox if e["kind"] == "approval_request" and e["channel"] == ONCALL]) == 12
