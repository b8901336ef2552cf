"""Run DMs say which run, and a scheduled job's runs stay in one thread: the first run and every failure are a new
direct message, later runs that completed are replies under the first one."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.permissions import Actor
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput
from storage.repositories import Repositories
from tests.fake_slack import text_of
from tests.slack.conftest import Stack, run_jobs


def _hourly(stack: Stack, job: str, name: str, data: dict[str, object] | None = None) -> str:
    start = stack.clock.now + timedelta(minutes=10)
    outcome = stack.services.requests.request_job(
        actor=Actor("UALICE"), job=job, data=data or {}, now=stack.clock.now,
        schedule=ScheduleInput(interval="hourly", name=name, start_time=start, time_zone="Europe/Berlin"))
    assert outcome.scheduled_job is not None
    return outcome.scheduled_job.id


def _next_run(stack: Stack, *, first: bool = False) -> None:
    """Move to the next due time, dispatch it, run it and tell it."""
    stack.clock.advance(minutes=10 if first else 60)
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    run_jobs(stack)
    stack.deliver()


def test_a_schedules_completed_runs_are_replies_under_its_first_run(stack: Stack) -> None:
    _hourly(stack, "testjobs.APITestJob", "Back up configs", {"var1": "ams1", "var2": 1, "var4": "role-a"})
    _next_run(stack, first=True)
    first, first_log = stack.posted("UALICE")
    assert "thread_ts" not in first.params
    # The message names the run: the schedule's name, the key variable, the due time (in the schedule's zone).
    assert first.params["text"].startswith("✅ Back up configs · ams1, due 2030-01-15 13:10 CET: completed in ")
    assert "told in this thread" in text_of(first)
    assert first_log.params["thread_ts"] == first.response["ts"]

    for _ in range(3):
        _next_run(stack)
    later = stack.posted("UALICE")[2:]
    assert len(later) == 6  # each run: its message, then its log, both in the first run's thread
    assert all(c.params["thread_ts"] == first.response["ts"] for c in later)
    assert [c.params["text"].split(":")[0] for c in later[::2]] == [
        "✅ Back up configs · ams1, due 2030-01-15 14", "✅ Back up configs · ams1, due 2030-01-15 15",
        "✅ Back up configs · ams1, due 2030-01-15 16"]


def test_every_failure_is_a_new_message_that_leads_with_why(stack: Stack) -> None:
    _hourly(stack, "testjobs.TestFail", "Core refresh")
    _next_run(stack, first=True)
    _next_run(stack)
    messages = [c for c in stack.posted("UALICE") if "thread_ts" not in c.params]
    assert len(messages) == 2  # both failures are messages of their own; their logs are in their own threads
    for message, due in zip(messages, ("13:10", "14:10"), strict=True):
        assert message.params["text"] == f"❌ Failed: failed — Core refresh, due 2030-01-15 {due} CET"
        assert message.params["blocks"][0]["text"]["text"] == "❌ *Failed*: failed"
    logs = [c for c in stack.posted("UALICE") if "thread_ts" in c.params]
    assert sorted(c.params["thread_ts"] for c in logs) == sorted(m.response["ts"] for m in messages)


def test_a_failure_between_completed_runs_leaves_the_thread_where_it_was(stack: Stack) -> None:
    ok = _hourly(stack, "testjobs.TestPass", "Backup")
    _next_run(stack, first=True)
    [first] = [c for c in stack.posted("UALICE") if "thread_ts" not in c.params]
    with stack.core.db.read() as session:
        assert Repositories(session).run_threads.get(ok, "UALICE") == (first.response["channel"], first.response["ts"])
    _hourly(stack, "testjobs.TestFail", "Refresh")  # another schedule: its own first run, its own thread
    _next_run(stack)
    _next_run(stack)
    top = [c.params["text"] for c in stack.posted("UALICE") if "thread_ts" not in c.params]
    assert [t.split(",")[0] for t in top] == ["✅ Backup", "❌ Failed: failed — Refresh", "❌ Failed: failed — Refresh"]
    replies = [c for c in stack.posted("UALICE") if c.params.get("thread_ts") == first.response["ts"]]
    assert [c.params["text"].split(",")[0] for c in replies if c.params["text"].startswith("✅")] == [
        "✅ Backup", "✅ Backup"]


def test_runs_asked_for_once_are_named_by_their_job_and_key_variable_each_in_a_message_of_its_own(
        stack: Stack) -> None:
    for device in ("core-sw-17", "core-sw-18"):
        before = len(stack.fake.calls_to("response_url"))
        stack.slack.command(f"run testjobs.APITestJob var1={device} var2=1 var4=role-a --now", user_id="UALICE")
        stack.fake.wait_for("response_url", before + 1)
    run_jobs(stack)
    stack.deliver()
    top = sorted(c.params["text"].split(":")[0] for c in stack.posted("UALICE") if "thread_ts" not in c.params)
    assert top == ["✅ API test job · core-sw-17", "✅ API test job · core-sw-18"]


def test_when_the_threads_first_message_is_gone_the_next_run_starts_a_new_thread(stack: Stack) -> None:
    scheduled_job_id = _hourly(stack, "testjobs.TestPass", "Backup")
    _next_run(stack, first=True)
    [first] = [c for c in stack.posted("UALICE") if "thread_ts" not in c.params]
    stack.fake.fail("chat.postMessage", status=200, error="thread_not_found")  # its first message was deleted
    _next_run(stack)
    tops = [c for c in stack.posted("UALICE") if "thread_ts" not in c.params]
    assert len(tops) == 2 and "told in this thread" in text_of(tops[1])
    with stack.core.db.read() as session:
        assert Repositories(session).run_threads.get(scheduled_job_id, "UALICE") == (
            tops[1].response["channel"], tops[1].response["ts"])
    _next_run(stack)
    replies = [c for c in stack.posted("UALICE") if c.params.get("thread_ts") == tops[1].response["ts"]]
    assert [c.params["text"].split(",")[0] for c in replies if c.params["text"].startswith("✅")] == ["✅ Backup"]
    assert first.response["ts"] != tops[1].response["ts"]
