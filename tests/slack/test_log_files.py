"""A run's log longer than a message is shared as a text file in the run's thread (``files_upload_v2`` against the
fake Slack: upload URL, upload, completion), whole, never cut with a pointer to an endpoint that needs a token."""

from __future__ import annotations

from pathlib import Path

from tests.fake_slack import UPLOAD_METHOD, text_of
from tests.slack.conftest import Stack, press, run_jobs

LOG_JOBS = '''
from bot.jobs import IntegerVar, Job


class ChattyJob(Job):
    class Meta:
        name = "Chatty job"
        has_sensitive_variables = False

    lines = IntegerVar()

    def run(self, data, commit):
        for i in range(data["lines"]):
            self.log_info(message=f"checked interface {i} of {data['lines']}: up, no errors")


class ChattySecretJob(Job):
    class Meta:
        name = "Chatty secret job"

    token = IntegerVar()

    def run(self, data, commit):
        for i in range(120):
            self.log_info(message=f"step {i} done")
        raise RuntimeError(f"the token {data['token']} was refused")


class ChattyApprovalJob(Job):
    class Meta:
        name = "Chatty approval job"
        approval_required = True
        has_sensitive_variables = False

    def run(self, data, commit):
        for i in range(150):
            self.log_info(message=f"would reboot device {i} commit={commit}")
'''


def _add_log_jobs(stack: Stack) -> None:
    (Path(stack.settings.jobs_paths[0]) / "logjobs.py").write_text(LOG_JOBS, encoding="utf-8")
    stack.services.management.sync_jobs(now=stack.clock.now)
    for slug in ("logjobs.ChattyJob", "logjobs.ChattySecretJob", "logjobs.ChattyApprovalJob"):
        stack.services.management.set_job_enabled(slug, True, now=stack.clock.now)


def _run(stack: Stack, command: str) -> None:
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(command, user_id="UALICE")
    stack.fake.wait_for("response_url", before + 1)
    run_jobs(stack)
    stack.deliver()


def test_a_long_log_is_a_text_file_in_the_results_thread_and_a_short_one_a_message(stack: Stack) -> None:
    _add_log_jobs(stack)
    _run(stack, "run logjobs.ChattyJob lines=300 --now")
    (result,) = stack.posted("UALICE")  # the log is not a message of its own
    (shared,) = stack.fake.files
    assert (shared.channel, shared.thread_ts) == (result.response["channel"], result.response["ts"])
    assert shared.filename.endswith(".log") and shared.filename.startswith("Chatty-job-")
    lines = shared.content.splitlines()
    assert len(lines) == 300
    assert lines[0].endswith("INFO     checked interface 0 of 300: up, no errors")
    assert lines[-1].endswith("checked interface 299 of 300: up, no errors")
    assert "300 line(s), too long for a message" in str(shared.initial_comment)
    assert len(stack.fake.calls_to(UPLOAD_METHOD)) == 1
    assert "/api/extras/job-results" not in text_of(result) + str(shared.initial_comment)

    _run(stack, "run logjobs.ChattyJob lines=3 --now")  # a short log stays a message in the thread
    _, short_result, short_log = stack.posted("UALICE")
    assert short_log.params["thread_ts"] == short_result.response["ts"]
    assert "checked interface 2 of 3" in text_of(short_log) and len(stack.fake.files) == 1


def test_a_sensitive_runs_long_log_is_a_file_without_the_exceptions_message(stack: Stack) -> None:
    _add_log_jobs(stack)
    _run(stack, "run logjobs.ChattySecretJob token=424242 --now")
    (result,) = stack.posted("UALICE")
    assert "Failed" in text_of(result)
    (shared,) = stack.fake.files
    assert shared.thread_ts == result.response["ts"]
    assert "step 119 done" in shared.content
    assert "RuntimeError (its message and traceback are not recorded" in shared.content
    assert "424242" not in shared.content


def test_a_dry_runs_long_log_follows_its_reply_in_the_approval_thread(stack: Stack) -> None:
    _add_log_jobs(stack)
    stack.slack.command('run logjobs.ChattyApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.deliver()
    (approval,) = stack.posted("C0APPROVALS")
    press(stack, approval, "Dry run", user_id="UAPPROVER")
    stack.fake.wait_for("response_url", 2)
    run_jobs(stack)
    stack.deliver()
    (reply,) = [c for c in stack.posted() if c.params.get("thread_ts")]
    assert reply.params["thread_ts"] == approval.response["ts"]
    assert "the whole log follows in this thread as a file" in text_of(reply)
    (shared,) = stack.fake.files
    assert (shared.channel, shared.thread_ts) == (approval.response["channel"], approval.response["ts"])
    assert len(shared.content.splitlines()) == 150 and "would reboot device 149 commit=False" in shared.content


def test_when_slack_refuses_the_file_the_start_of_the_log_says_which_scope_is_missing(stack: Stack) -> None:
    _add_log_jobs(stack)
    stack.fake.fail("files.getUploadURLExternal", status=200, error="missing_scope")
    _run(stack, "run logjobs.ChattyJob lines=300 --now")
    result, log = stack.posted("UALICE")
    assert log.params["thread_ts"] == result.response["ts"]
    text = text_of(log)
    assert "checked interface 0 of 300" in text
    assert "Slack refused the whole log as a file (missing_scope): the app needs the `files:write` scope." in text
    assert stack.fake.files == []
