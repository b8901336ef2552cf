"""The direct message of a finished run, as its requester reads it: which run (schedule name, key variable, due time
in the schedule's zone), the outcome, a failure's reason first, and a ``text`` that says all of it alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.records import JobRecord, JobResultRecord, LogRecord, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.run_notices import key_variable, last_error_line, told_in_thread
from bot.domain.schedules import IntervalType
from handlers import blocks
from tests.slack.limits import check_message

DUE = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
VARIABLES: dict[str, Any] = {
    "dry": {"kind": "boolean", "required": False},
    "count": {"kind": "integer", "required": True},
    "site": {"kind": "string", "required": True, "label": "Site"},
    "device": {"kind": "string", "required": True, "label": "Device"},
}


def job(*, sensitive: bool = False, variables: dict[str, Any] | None = None) -> JobRecord:
    return JobRecord(id="j1", slug="maintenance.BackupConfigs", name="Back up configs", description="", module_name="m",
                     class_name="BackupConfigs", source="local", enabled=True, installed=True,
                     approval_required=False, has_sensitive_variables=sensitive, hidden=False, soft_time_limit=None,
                     time_limit=None, variables=VARIABLES if variables is None else variables)


def run(status: JobResultStatus = JobResultStatus.COMPLETED, *, error: str | None = None,
        log: tuple[LogRecord, ...] = (), data: dict[str, Any] | None = None, **changes: Any) -> JobResultRecord:
    record = JobResultRecord(
        id="3f2c5a0e-0000-0000-0000-000000000001", job=job(), name="Back up configs", user_id="UALICE",
        approved_by_id=None, status=status, dry_run=False, created_at=DUE, started_at=DUE,
        completed_at=DUE + timedelta(seconds=2), scheduled_job_id="9b1d0000-0000-0000-0000-000000000001",
        scheduled_for=DUE, error=error, log=log, data={"site": "ams1", "count": 3} if data is None else data)
    return replace(record, **changes)


def schedule(name: str = "Nightly backup", time_zone: str = "Europe/Berlin") -> ScheduledJobRecord:
    return ScheduledJobRecord(
        id="9b1d0000-0000-0000-0000-000000000001", name=name, job=job(), user_id="UALICE",
        interval=IntervalType.DAILY, start_time=DUE, crontab=None, time_zone=time_zone,
        data={"site": "ams1", "count": 3}, commit=True, approval_required=False,
        approval_state=ApprovalState.NOT_REQUIRED, decided_by_id=None, decided_at=None, decision_reason=None,
        enabled=True, paused=False, end_reason=None, ended_at=None, ended_by_id=None, next_run_at=None,
        last_run_at=None, total_run_count=1, created_at=DUE)


def test_a_completed_run_names_its_schedule_key_variable_and_due_time_in_its_zone() -> None:
    message = blocks.build_run_finished(run(), scheduled_job=schedule())
    assert message["text"] == "✅ Nightly backup · ams1, due 2030-01-15 09:00 CET: completed in 2.0 s"
    assert message["blocks"][0]["text"]["text"] == (
        "✅ *Nightly backup* · ams1: *Completed* in 2.0 s\n*Back up configs* (`maintenance.BackupConfigs`)")
    facts = message["blocks"][1]["elements"][0]["text"]
    assert facts.startswith(f"Due <!date^{int(DUE.timestamp())}^") and "Result `3f2c5a0e`" in facts
    assert "ran as <@UALICE>" in facts and facts.endswith("the log is in the thread")
    assert check_message(message, "run") == []


def test_a_failure_leads_with_its_last_error_line_in_the_blocks_and_in_text() -> None:
    failed = run(JobResultStatus.ERRORED, error="Traceback (most recent call last):\n  ...\nTimeoutError: ams1 <down>")
    message = blocks.build_run_finished(failed, scheduled_job=schedule())
    assert message["text"] == ("⚠️ Errored: TimeoutError: ams1 &lt;down&gt; — Nightly backup · ams1, "
                               "due 2030-01-15 09:00 CET")
    assert message["blocks"][0]["text"]["text"] == "⚠️ *Errored*: TimeoutError: ams1 &lt;down&gt;"
    assert message["blocks"][1]["text"]["text"].startswith("*Nightly backup* · ams1 — *Back up configs*")


def test_a_failure_without_an_error_leads_with_its_last_failure_log_line() -> None:
    log = (LogRecord(logged_at=DUE, level="failure", message="switch-1 unreachable"),
           LogRecord(logged_at=DUE, level="failure", message="switch-2 unreachable"),
           LogRecord(logged_at=DUE, level="info", message="done"))
    message = blocks.build_run_finished(run(JobResultStatus.FAILED, log=log), scheduled_job=schedule())
    assert message["text"].startswith("❌ Failed: switch-2 unreachable — Nightly backup · ams1")


def test_a_missed_due_time_says_how_many_first() -> None:
    missed = run(JobResultStatus.MISSED, error="missed 3 due times from 2030-01-15T08:00:00+00:00 to …",
                 started_at=None, completed_at=None)
    message = blocks.build_run_finished(missed, scheduled_job=schedule(time_zone="UTC"))
    assert message["text"].startswith("⏭️ Missed: missed 3 due times from 2030-01-15T08:00:00+00:00")
    assert message["text"].endswith("due 2030-01-15 08:00 UTC")


def test_a_run_asked_for_once_is_named_by_its_job_a_dry_run_says_so() -> None:
    once = run(scheduled_job_id=None, scheduled_for=None, dry_run=True, data={"site": "fra2"})
    message = blocks.build_run_finished(once)
    assert message["text"] == "✅ Back up configs · fra2 (dry run): completed in 2.0 s"
    assert not message["blocks"][1]["elements"][0]["text"].startswith("Due")


def test_the_reply_in_a_thread_and_the_message_that_starts_one_say_so() -> None:
    reply = blocks.build_run_finished(run(), scheduled_job=schedule(), in_thread=True)
    assert reply["blocks"][-1]["elements"][0]["text"].endswith("its log follows")
    first = blocks.build_run_finished(run(), scheduled_job=schedule(), starts_thread=True)
    assert "The next runs of this schedule that complete are told in this thread" in str(first["blocks"][-1])


def test_names_typed_by_people_cannot_mention_in_the_text_or_the_blocks() -> None:
    message = blocks.build_run_finished(run(data={"site": "<!channel>"}), scheduled_job=schedule("<@UEVIL> *x*"))
    assert "<!channel>" not in str(message) and "<@UEVIL>" not in str(message)
    assert message["text"].startswith("✅ &lt;@UEVIL&gt; *x* · &lt;!channel&gt;, due")


@pytest.mark.parametrize(("variables", "data", "expected"), [
    (VARIABLES, {"site": "ams1", "device": "core-1"}, ("Site", "ams1")),
    ({**VARIABLES, "device": {"kind": "string", "key": True}}, {"site": "ams1", "device": "core-1"},
     ("device", "core-1")),
    (VARIABLES, {"site": "  "}, None),
    (VARIABLES, {"site": ["a", "b"]}, None),
    ({"count": {"kind": "integer"}}, {"count": 3}, None),
    (VARIABLES, {"site": "x" * 100}, ("Site", "x" * 59 + "…")),
    (VARIABLES, None, None),
])
def test_the_key_variable_is_the_one_the_job_names_else_its_first_required_text(
        variables: dict[str, Any], data: dict[str, Any] | None, expected: tuple[str, str] | None) -> None:
    assert key_variable(job(variables=variables), data) == expected


def test_a_job_with_sensitive_variables_never_shows_a_key_value() -> None:
    assert key_variable(job(sensitive=True), {"site": "secret"}) is None
    assert key_variable(None, {"site": "ams1"}) is None


def test_the_last_error_line_and_which_runs_go_in_a_thread() -> None:
    assert last_error_line(error="a\n\nb  \n", log=()) == "b"
    assert last_error_line(error=None, log=(LogRecord(logged_at=DUE, level="warning", message="w"),)) is None
    assert told_in_thread(status=JobResultStatus.COMPLETED, dry_run=False, scheduled_job_id="s", has_thread=True)
    for status in (JobResultStatus.FAILED, JobResultStatus.ERRORED, JobResultStatus.MISSED):
        assert not told_in_thread(status=status, dry_run=False, scheduled_job_id="s", has_thread=True)
    assert not told_in_thread(status=JobResultStatus.COMPLETED, dry_run=False, scheduled_job_id="s", has_thread=False)
    assert not told_in_thread(status=JobResultStatus.COMPLETED, dry_run=True, scheduled_job_id="s", has_thread=True)
    assert not told_in_thread(status=JobResultStatus.COMPLETED, dry_run=False, scheduled_job_id=None,
                              has_thread=True)
