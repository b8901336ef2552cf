"""Approvals pinned to the reviewed code, through the real app: the job's code version in the approval message, an
approval that lapses when the job's module changes (at sync, before a recurring schedule's next run, or as the worker
that would run it finds other code), and the approvers asked again with what changed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from bot.domain.approvals import ApprovalState
from bot.domain.results import JobResultStatus
from bot.executor.runs import reap_expired
from bot.scheduler import Dispatcher
from storage.repositories import Repositories
from tests.conftest import ADMIN
from tests.fake_slack import Call, text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, buttons, press, run_jobs


def version_of(module: Path) -> str:
    return hashlib.sha256(module.read_bytes()).hexdigest()


def edit_approval_job(module: Path, marker: str) -> None:
    """Change the approval job's code (what it logs), as a job author would."""
    module.write_text(module.read_text().replace(
        'self.log_info(message=f"device={data[\'device\']} commit={commit}")',
        f'self.log_info(message=f"{marker} device={{data[\'device\']}} commit={{commit}}")', 1))


def dispatcher(stack: Stack) -> Dispatcher:
    return Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock, deps=stack.core.deps)


def request_and_approve(stack: Stack, text: str) -> tuple[str, Call]:
    """ALICE asks through /jobs, the approver approves with the button; returns the request's ID and its message."""
    ack = stack.slack.command(text, user_id="UALICE")
    assert ack.status == 200
    stack.fake.wait_for("response_url")
    [record] = stack.services.listings.list_approval_queue(ADMIN).items
    stack.deliver()
    [message] = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Approve", user_id="UAPPROVER")
    assert stack.services.listings.get_scheduled_job(ADMIN, record.id).approval_state is ApprovalState.APPROVED
    stack.deliver()
    return record.id, message


def results(stack: Stack) -> list[object]:
    return list(stack.services.listings.list_job_results(ADMIN).items)


def test_the_approval_message_shows_the_code_version_and_the_approval_records_it(stack: Stack,
                                                                                 jobs_dir: Path) -> None:
    version = version_of(jobs_dir / "testjobs.py")
    scheduled_job_id, message = request_and_approve(stack, 'run testjobs.ApprovalJob --at "2030-01-16 09:00"')
    assert f"`{version[:10]}`" in text_of(message)
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.job_version == version and record.approved_job_version == version


def test_a_job_edited_after_approval_does_not_run_and_the_approvers_are_asked_again(stack: Stack,
                                                                                    jobs_dir: Path) -> None:
    module = jobs_dir / "testjobs.py"
    old = version_of(module)
    scheduled_job_id, first_message = request_and_approve(stack, 'run testjobs.ApprovalJob --at "2030-01-16 09:00"')
    edit_approval_job(module, "EDITED")
    new = version_of(module)
    stack.services.management.sync_jobs(now=stack.clock.now)
    asked_before = len(stack.posted(APPROVAL_CHANNEL))

    stack.clock.now = stack.clock.now.replace(year=2030, month=1, day=16, hour=8, minute=0, second=5)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    assert results(stack) == []  # nothing runs on the old approval
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.PENDING and record.next_run_at is None
    assert record.job_version == new and record.approved_job_version == old

    stack.deliver()
    asked = stack.posted(APPROVAL_CHANNEL)[asked_before:]
    assert len(asked) == 1
    text = text_of(asked[0])
    assert f"{old[:10]} → {new[:10]}" in text and "approval lapsed" in text
    assert [b["text"]["text"] for b in buttons(asked[0])] == ["Approve", "Deny", "Dry run"]
    told = [c for c in stack.posted("UALICE") if "needs approval again" in text_of(c)]
    assert len(told) == 1 and f"{old[:10]} → {new[:10]}" in text_of(told[0])
    # The first message no longer says "Approved": it is updated in place, pending again, saying what changed.
    updated = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == first_message.response["ts"]]
    assert "Approved*" not in text_of(updated[-1]) and f"{old[:10]} → {new[:10]}" in text_of(updated[-1])

    # Approved again, the new code runs.
    press(stack, asked[0], "Approve", user_id="UAPPROVER")
    assert stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approved_job_version == new
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    [outcome] = run_jobs(stack)
    assert outcome.status is JobResultStatus.COMPLETED


def test_a_recurring_approved_schedule_is_checked_again_before_each_run(stack: Stack, jobs_dir: Path) -> None:
    module = jobs_dir / "testjobs.py"
    old = version_of(module)
    scheduled_job_id, _ = request_and_approve(
        stack, 'run testjobs.ApprovalJob --every hourly --start "2030-01-16 09:00"')
    stack.clock.now = stack.clock.now.replace(year=2030, month=1, day=16, hour=8, minute=0, second=5)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    [first] = run_jobs(stack)
    assert first.status is JobResultStatus.COMPLETED  # the first run, on the reviewed code

    edit_approval_job(module, "EDITED")
    new = version_of(module)
    stack.services.management.sync_jobs(now=stack.clock.now)
    asked_before = len(stack.posted(APPROVAL_CHANNEL))
    stack.clock.advance(hours=1)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    assert len(results(stack)) == 1  # the second run did not happen
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.PENDING and record.next_run_at is None
    stack.deliver()
    [asked] = stack.posted(APPROVAL_CHANNEL)[asked_before:]
    assert f"{old[:10]} → {new[:10]}" in text_of(asked)


def test_a_worker_that_loaded_edited_code_refuses_the_run_and_the_request_goes_back(stack: Stack,
                                                                                     jobs_dir: Path) -> None:
    module = jobs_dir / "testjobs.py"
    old = version_of(module)
    scheduled_job_id, _ = request_and_approve(stack, "run testjobs.ApprovalJob device=core-9 --now")
    # Edited on disk after the server synced: the server still knows the old version, the worker loads the new one.
    edit_approval_job(module, "EDITED")
    new = version_of(module)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    asked_before = len(stack.posted(APPROVAL_CHANNEL))
    [outcome] = run_jobs(stack)
    assert outcome.status is JobResultStatus.ERRORED
    [result] = stack.services.listings.list_job_results(ADMIN).items
    full = stack.services.listings.get_job_result(ADMIN, result.id)
    assert full.error is not None and "not the approved version" in full.error
    assert not any("device=core-9" in line.message for line in full.log)  # the job did not run

    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.PENDING and record.enabled
    assert record.job_version == new and record.approved_job_version == old
    stack.deliver()
    [asked] = stack.posted(APPROVAL_CHANNEL)[asked_before:]
    assert f"{old[:10]} → {new[:10]}" in text_of(asked)
    assert any("needs approval again" in text_of(c) for c in stack.posted("UALICE"))


def test_a_worker_still_running_old_code_refuses_a_run_approved_for_the_new_code(stack: Stack,
                                                                                  jobs_dir: Path) -> None:
    module = jobs_dir / "testjobs.py"
    assert run_jobs(stack) == []  # the workers start, and load the code as it is now
    assert stack.extra["executor"].pool.wait_ready(30)
    old = version_of(module)
    edit_approval_job(module, "EDITED")
    new = version_of(module)
    stack.services.management.sync_jobs(now=stack.clock.now)  # the server has the new code
    scheduled_job_id, message = request_and_approve(stack, "run testjobs.ApprovalJob device=core-9 --now")
    assert f"`{new[:10]}`" in text_of(message)
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    [outcome] = run_jobs(stack)
    assert outcome.status is JobResultStatus.ERRORED
    [result] = stack.services.listings.list_job_results(ADMIN).items
    full = stack.services.listings.get_job_result(ADMIN, result.id)
    assert full.error is not None and f"({old[:10]}) is not the approved version ({new[:10]})" in full.error
    dispatcher(stack).dispatch_all_due(now=stack.clock.now)
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.PENDING



CHATTY_JOB = '''

class ChattyApprovalJob(Job):
    class Meta:
        name = "Chatty approval job"
        approval_required = True
        has_sensitive_variables = False

    def run(self, data, commit):
        for i in range(40):
            self.log_info(message=f"line {i} <&> " + "x" * 3000)
        self.log_failure(message="the last line is a failure")
'''


def test_a_finished_dry_run_shows_in_the_approval_message_with_its_first_log_lines(stack: Stack,
                                                                                    jobs_dir: Path) -> None:
    with (jobs_dir / "testjobs.py").open("a") as module:
        module.write(CHATTY_JOB)
    stack.services.management.sync_jobs(now=stack.clock.now)
    stack.services.management.set_job_enabled("testjobs.ChattyApprovalJob", True, now=stack.clock.now)
    ack = stack.slack.command('run testjobs.ChattyApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    assert ack.status == 200
    stack.fake.wait_for("response_url")
    stack.deliver()
    [message] = stack.posted(APPROVAL_CHANNEL)
    assert "Latest dry run" not in text_of(message)

    press(stack, message, "Dry run", user_id="UAPPROVER")
    stack.fake.wait_for("response_url", 2)
    [outcome] = run_jobs(stack)
    assert outcome.status is JobResultStatus.FAILED
    stack.deliver()
    [update] = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]]
    text = text_of(update)
    assert "Latest dry run" in text and "Failed" in text and "<@UAPPROVER>" in text
    dry_run_id = outcome.job_result_id
    assert f"`{dry_run_id[:8]}`" in text and dry_run_id not in text  # the dry run's short ID, as people type it
    assert "line 0 &lt;&amp;&gt; xxx" in text and "line 4 " in text and "line 5 " not in text  # the first lines
    assert [b["text"]["text"] for b in buttons(update)] == ["Approve", "Deny", "Dry run"]  # still pending
    # Block Kit's limits (a section's 3,000 characters…) are checked on every recorded call by tests/slack/limits.py.


def test_a_dry_run_whose_runner_vanished_shows_as_interrupted_in_the_approval_message(stack: Stack) -> None:
    ack = stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    assert ack.status == 200
    stack.fake.wait_for("response_url")
    stack.deliver()
    [message] = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Dry run", user_id="UAPPROVER")
    stack.fake.wait_for("response_url", 2)
    with stack.core.db.write() as session:  # a runner claims it, then dies without a word
        [claimed] = Repositories(session).job_results.claim(runner_id="elsewhere:1:x", clock=stack.clock,
                                                            lease=timedelta(seconds=60), limit=10)
    assert claimed.dry_run
    stack.clock.advance(minutes=2)
    assert reap_expired(stack.core.db, now=stack.clock.now) == 1
    stack.deliver()
    [update] = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]]
    assert "Latest dry run" in text_of(update) and "Errored" in text_of(update) and "Interrupted" in text_of(update)
