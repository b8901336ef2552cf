"""What the Slack listings show: a requester always sees their own requests in ``/jobs scheduled`` and ``/jobs
queue``, and ``/jobs results JOB`` answers a job the user may not see as it answers one that does not exist."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Policy
from bot.domain.policy_file import parse_policy
from tests.conftest import ALICE, OWNER, OWNER_RULES, POLICY_YAML
from tests.slack.conftest import Stack, reply

OWNER_POLICY = POLICY_YAML + OWNER_RULES


@pytest.fixture
def policy() -> Policy:
    return parse_policy(OWNER_POLICY, source="listing scope policy")


def test_a_requester_sees_their_own_request_in_scheduled_and_queue(stack: Stack) -> None:
    mine = stack.services.requests.request_job(actor=OWNER, job="testjobs.ApprovalJob").scheduled_job
    theirs = stack.services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob").scheduled_job
    assert mine is not None and theirs is not None
    assert f"`{mine.id[:8]}`" in reply(stack, "scheduled", user_id="UOWNER")  # IDs show in their short form
    queue = reply(stack, "queue", user_id="UOWNER")
    assert f"`{mine.id[:8]}`" in queue and theirs.id[:8] not in queue


def test_results_of_a_hidden_job_read_like_results_of_a_missing_one(stack: Stack) -> None:
    hidden = reply(stack, "results testjobs.ApprovalJob", user_id="UNOBODY")
    missing = reply(stack, "results no.SuchJob", user_id="UNOBODY")
    assert hidden.replace("testjobs.ApprovalJob", "X") == missing.replace("no.SuchJob", "X")
    assert "not found" in hidden
