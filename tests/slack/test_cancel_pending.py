"""``/jobs cancel`` on someone else's request that waits for approval: it is a denial, so it needs what denying needs
(``approve_job`` on the job and ``delete_scheduledjob``) and is recorded and announced as a denial."""

from __future__ import annotations

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Policy
from bot.domain.policy_file import parse_policy
from tests.conftest import ADMIN, POLICY_YAML
from tests.fake_slack import text_of
from tests.slack.conftest import Stack, reply

SCHEDULER_POLICY = POLICY_YAML + """
  - name: scheduler ends and changes schedules but does not approve
    actions: [view, change, delete]
    object_types: [extras.scheduledjob]
    users: [USCHEDULER]
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(SCHEDULER_POLICY, source="cancel policy")


def request(stack: Stack, text: str) -> str:
    reply(stack, f"run {text}", user_id="UALICE")
    return stack.services.listings.list_scheduled_jobs(ADMIN).items[0].id


def test_delete_alone_cannot_cancel_someone_elses_pending_request(stack: Stack) -> None:
    pending = request(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    answer = reply(stack, f"cancel {pending}", user_id="USCHEDULER")
    assert "permission to cancel this request" in answer and "approve_job" in answer
    record = stack.services.listings.get_scheduled_job(ADMIN, pending)
    assert record.approval_state is ApprovalState.PENDING and record.enabled


def test_an_approver_cancelling_someone_elses_pending_request_denies_it(stack: Stack) -> None:
    pending = request(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    stack.deliver()
    assert "you denied" in reply(stack, f"cancel {pending}", user_id="UAPPROVER")
    record = stack.services.listings.get_scheduled_job(ADMIN, pending)
    assert record.approval_state is ApprovalState.DENIED and record.decided_by_id == "UAPPROVER"
    stack.deliver()
    told = [text_of(call) for call in stack.posted("UALICE")]
    assert any("denied by <@UAPPROVER>" in text for text in told), told


def test_delete_still_cancels_an_approved_schedule_and_the_requester_withdraws_their_own(stack: Stack) -> None:
    active = request(stack, 'testjobs.TestPass --every daily --start "2030-01-16 09:00"')
    assert "you cancelled" in reply(stack, f"cancel {active}", user_id="USCHEDULER")
    assert not stack.services.listings.get_scheduled_job(ADMIN, active).enabled
    pending = request(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    assert "you cancelled" in reply(stack, f"cancel {pending}", user_id="UALICE")
