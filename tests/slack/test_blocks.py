"""The Block Kit builders on extreme input: long logs become files, long user text stays within
Slack's limits, and user text cannot form mentions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.approvals import ApprovalState
from bot.domain.errors import AlreadyDecidedError, PastDueError
from bot.domain.management import ManageAction
from bot.domain.records import JobResultRecord, LogRecord, Page, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from handlers import blocks
from tests.slack.limits import check_message, check_view

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


def result(lines: int) -> JobResultRecord:
    log = tuple(LogRecord(logged_at=NOW, level="info", message=f"line {i} " + "x" * 80) for i in range(lines))
    return JobResultRecord(id="0b0b0b0b-0000-0000-0000-000000000001", job=None, name="Big", user_id="UALICE",
                           approved_by_id=None, status=JobResultStatus.FAILED, dry_run=False, created_at=NOW,
                           started_at=NOW, completed_at=NOW + timedelta(seconds=3), scheduled_job_id=None,
                           scheduled_for=None, error=None, log=log)


def request(name: str, data: dict[str, object]) -> ScheduledJobRecord:
    return ScheduledJobRecord(
        id="0a0a0a0a-0000-0000-0000-000000000001", name=name, job=None, user_id="UALICE",
        interval=IntervalType.FUTURE, start_time=NOW + timedelta(hours=1), crontab=None, time_zone="UTC", data=data,
        commit=True, approval_required=True, approval_state=ApprovalState.PENDING, decided_by_id=None,
        decided_at=None, decision_reason=None, enabled=True, paused=False, end_reason=None, ended_at=None,
        ended_by_id=None, next_run_at=None, last_run_at=None, total_run_count=0, created_at=NOW,
    )


def test_a_long_log_is_a_whole_file_and_a_trimmed_reply_says_the_file_follows() -> None:
    assert blocks.log_file(result(20)) is None
    name, content = blocks.log_file(result(500)) or ("", "")
    assert name == "Big-0b0b0b0b.log" and len(content.splitlines()) == 500
    assert content.endswith("line 499 " + "x" * 80 + "\n")
    reply = blocks.build_dry_run_reply(result(500))
    text = reply["blocks"][1]["text"]["text"]
    assert len(text) <= 3000 and "more line(s); the whole log follows in this thread as a file." in text
    assert "/api/extras" not in text
    assert check_message(reply, "reply") == []
    assert "in 3.0 s" in blocks.build_run_finished(result(1))["blocks"][0]["text"]["text"]


def test_long_user_text_stays_within_slacks_limits_and_cannot_mention() -> None:
    record = request("<!channel> " + "n" * 5000, {f"v{i}": "<@UEVIL> " + "d" * 5000 for i in range(40)})
    message = blocks.build_approval_message(record, now=NOW)
    assert check_message(message, "approval") == []
    assert "<!channel>" not in str(message["blocks"]) and "<@UEVIL>" not in str(message["blocks"])
    many = [replace(record, id=f"0a0a0a0a-0000-0000-0000-{i:012d}") for i in range(60)]
    queue = blocks.build_queue(Page(count=60, items=many), now=NOW)
    assert check_message(queue, "queue") == [] and len(queue["blocks"]) <= 50
    home = blocks.build_home(my_requests=Page(count=60, items=many), to_approve=many,
                             upcoming=Page(count=0, items=[]), results=Page(count=1, items=[result(3)]), now=NOW,
                             menus={r.id: (ManageAction.PAUSE, ManageAction.CANCEL) for r in many})
    assert check_view(home, "home") == []


def test_refusals_are_worded_for_slack() -> None:
    """The domain keeps the facts; Slack names the decider with a mention and says how to confirm a past-due request."""
    decided = AlreadyDecidedError(approval_state="approved", decided_by_id="UAPPROVER", decided_at=NOW)
    message = blocks.build_refusal(decided)
    expected = "⚠️ This request was already approved by <@UAPPROVER> at 2030-01-15 12:00 UTC."
    assert message["text"] == message["blocks"][0]["text"]["text"] == expected
    past_due = PastDueError("The job's start time is in the past.", scheduled_job_id="sj-1", start_time=NOW)
    message = blocks.build_refusal(past_due)
    expected = ("⚠️ The start time of `sj-1` has passed. To approve it and run it at once, use "
                "`/jobs approve sj-1 --force`.")
    assert message["text"] == message["blocks"][0]["text"]["text"] == expected
    assert "query parameter" not in str(message)
    check_message(message, "past-due refusal")
