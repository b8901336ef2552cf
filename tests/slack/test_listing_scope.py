"""What the Slack listings show: a requester always sees their own requests in ``/jobs scheduled`` and ``/jobs
queue``, and ``/jobs results JOB`` answers a job the user may not see as it answers one that does not exist."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Actor, Policy
from bot.domain.policy_file import parse_policy
from tests.conftest import ALICE, POLICY_YAML
from tests.fake_slack import FakeSlack, text_of
from tests.slack.conftest import Stack

OWNER_POLICY = POLICY_YAML + """
  - name: owner runs every job
    actions: [run, view]
    object_types: [extras.job]
    users: [UOWNER]
  - name: owner sees the schedules and results of TestPass
    actions: [view]
    object_types: [extras.scheduledjob, extras.jobresult]
    users: [UOWNER]
    jobs: ["testjobs.TestPass"]
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(OWNER_POLICY, source="listing scope policy")


@pytest.fixture
def fake(fake: FakeSlack) -> FakeSlack:
    fake.users["UOWNER"] = {"tz": "UTC"}
    return fake


def reply(stack: Stack, text: str, *, user_id: str) -> str:
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(text, user_id=user_id)
    return text_of(stack.fake.wait_for("response_url", before + 1)[-1])


def test_a_requester_sees_their_own_request_in_scheduled_and_queue(stack: Stack) -> None:
    mine = stack.services.requests.request_job(actor=Actor("UOWNER"), job="testjobs.ApprovalJob").scheduled_job
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
