"""In Slack, the request past ``JOBGATE_MAX_PENDING_PER_USER`` is refused privately, saying what to do, and asks
no approver."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack


@pytest.fixture
def settings(jobs_dir: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, jobs_paths=(jobs_dir,), time_zone="UTC", max_pending_per_user=2)


def test_the_request_past_the_limit_is_refused_privately(stack: Stack) -> None:
    for count in (1, 2, 3):
        stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
        stack.fake.wait_for("response_url", count)
    answer = stack.fake.calls_to("response_url")[-1]
    assert answer.params["response_type"] == "ephemeral"
    assert "You have 2 requests waiting for approval" in text_of(answer)
    assert "withdraw one or wait for a decision" in text_of(answer)
    stack.deliver()
    assert len(stack.posted(APPROVAL_CHANNEL)) == 2
