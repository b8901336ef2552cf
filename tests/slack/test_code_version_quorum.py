"""Approvals pinned to the reviewed code under an approval rule: each approval records the code version it was given
for, and an approval that lapses because the code changed starts the quorum, the expiry, the reminders and the
escalation again from the lapse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Policy
from bot.domain.results import JobResultStatus
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, ONCALL, Stack, approval_rule_policy, buttons, reply, run_jobs
from tests.slack.test_code_versions import dispatcher, edit_approval_job, version_of


@pytest.fixture
def policy() -> Policy:
    return approval_rule_policy("code version quorum test policy")


def waiting_for(stack: Stack, user_id: str) -> str:
    """The 'Waiting for your approval' part of the user's App Home."""
    before = len(stack.fake.calls_to("views.publish"))
    stack.slack.app_home_opened(user_id=user_id)
    return text_of(stack.fake.wait_for("views.publish", before + 1)[-1]).split("Your requests")[0]


def test_a_lapsed_approval_clears_the_approvals_and_starts_expiry_reminders_and_escalation_again(
    stack: Stack, jobs_dir: Path,
) -> None:
    module = jobs_dir / "testjobs.py"
    old = version_of(module)
    reply(stack, 'run testjobs.ApprovalJob --every hourly --start "2030-01-16 09:00"', user_id="UALICE")
    (pending,) = stack.services.listings.list_approval_queue(ADMIN).items
    first_expiry = pending.expires_at
    assert first_expiry == stack.clock.now + timedelta(days=1)

    # The first approval, with a comment: kept on the approval, with the code version it was given for.
    assert "1 of 2" in reply(stack, f"approve {pending.id} checked the diff", user_id="UAPPROVER")
    record = stack.services.listings.get_scheduled_job(ADMIN, pending.id)
    assert [(v.user_id, v.comment, v.job_version) for v in record.approvals] == [("UAPPROVER", "checked the diff", old)]
    assert record.decision_reason is None
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    updated = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]]
    assert "Approved so far by <@UAPPROVER> — 1 of 2 needed" in text_of(updated[-1])
    assert "<@UAPPROVER>: checked the diff" in text_of(updated[-1])
    # App Home: waits for the second approver, no longer for the one who approved.
    assert "Waiting for your approval (0)" in waiting_for(stack, "UAPPROVER")
    assert "Waiting for your approval (1)" in waiting_for(stack, "UAPPROVER2")

    assert "you approved" in reply(stack, f"approve {pending.id}", user_id="UAPPROVER2")
    record = stack.services.listings.get_scheduled_job(ADMIN, pending.id)
    assert record.approval_state is ApprovalState.APPROVED and record.approved_job_version == old
    assert [(v.user_id, v.job_version) for v in record.approvals] == [("UAPPROVER", old), ("UAPPROVER2", old)]
    stack.deliver()

    stack.clock.now = stack.clock.now.replace(year=2030, month=1, day=16, hour=8, minute=0, second=5)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    [first] = run_jobs(stack)
    assert first.status is JobResultStatus.COMPLETED

    # The code changes after the original expiry would have passed: the next run lapses.
    edit_approval_job(module, "EDITED")
    new = version_of(module)
    stack.services.management.sync_jobs(now=stack.clock.now)
    asked_before = len(stack.posted(APPROVAL_CHANNEL))
    stack.clock.advance(hours=1)
    lapsed_at = stack.clock.now
    assert first_expiry is not None and lapsed_at > first_expiry - timedelta(hours=3)
    dispatcher(stack).dispatch_all_due(now=lapsed_at)
    record = stack.services.listings.get_scheduled_job(ADMIN, pending.id)
    assert record.approval_state is ApprovalState.PENDING and record.job_version == new
    assert record.approvals == ()  # the quorum must be met again
    assert record.min_approvers == 2 and record.asked_at == lapsed_at
    assert record.expires_at == lapsed_at + timedelta(days=1)

    stack.deliver()
    (asked,) = stack.posted(APPROVAL_CHANNEL)[asked_before:]
    assert [b["text"]["text"] for b in buttons(asked)] == ["Approve", "Deny", "Dry run"]
    assert "Approved so far by" not in text_of(asked) and "Approved by" not in text_of(asked)
    assert asked.params["blocks"][0]["text"]["text"].startswith("⏳ *Approval needed* · 0 of 2 approvals")
    redrawn = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]][-1]
    # The earlier approval is gone from it (the approvers are mentioned again, as for a new request).
    assert "Approved so far by" not in text_of(redrawn) and "checked the diff" not in text_of(redrawn)
    assert redrawn.params["blocks"][0]["text"]["text"].startswith("⏳ *Approval needed* · 0 of 2 approvals from ")
    assert f"{old[:10]} → {new[:10]}" in text_of(redrawn)
    assert "Waiting for your approval (1)" in waiting_for(stack, "UAPPROVER")
    assert "Waiting for less than a minute" in waiting_for(stack, "UAPPROVER2")  # asked again at the lapse

    # Reminders count from the lapse (not from the original request), and the original expiry is gone.
    assert stack.services.deadlines.handle_due(lapsed_at + timedelta(hours=3, minutes=59)) == 0
    stack.clock.now = lapsed_at + timedelta(hours=4)
    assert stack.services.deadlines.handle_due(stack.clock.now) == 1
    stack.deliver()
    reminders = [c for c in stack.posted(APPROVAL_CHANNEL) if c.params.get("thread_ts")]
    assert len(reminders) == 1
    assert "<@UAPPROVER>" in text_of(reminders[0]) and "<@UAPPROVER2>" in text_of(reminders[0])
    assert stack.posted(ONCALL) == []  # escalation is eight hours after the lapse
    record = stack.services.listings.get_scheduled_job(ADMIN, pending.id)
    assert record.approval_state is ApprovalState.PENDING and record.enabled

    # Approving again records the new version on each approval.
    assert "1 of 2" in reply(stack, f"approve {pending.id} re-reviewed", user_id="UAPPROVER")
    assert "you approved" in reply(stack, f"approve {pending.id}", user_id="UAPPROVER2")
    record = stack.services.listings.get_scheduled_job(ADMIN, pending.id)
    assert record.approval_state is ApprovalState.APPROVED and record.approved_job_version == new
    assert [(v.user_id, v.comment, v.job_version) for v in record.approvals] == [
        ("UAPPROVER", "re-reviewed", new), ("UAPPROVER2", None, new)]
