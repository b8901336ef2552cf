"""``jobgate serve`` with the local executor, as real processes: what each crash point of a run leaves behind.

A run goes: claimed (``running``, this server's runner id) → executed in a worker process → its report reaches the
server → recorded with its log and the requester's notification in one group commit → delivered to Slack by the
notifier. The README's table says what a crash at each point leaves behind; each test here crashes there:

1. the worker process dies mid-run: the run ends ``errored`` with the reason, at once; the server goes on;
2. the run finished, its report reached the server, the server dies before the group commit: the run stays
   ``running`` until a restarted server (same host: at once; elsewhere: when the lease expires) marks it
   ``errored`` ("interrupted"); it never runs again;
3. the outcome is committed, the server dies before the notifier told Slack: the restarted server tells it, once.

Also: Slack is answered while two runaway jobs burn both cores, and their workers are replaced.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.executor.runs import INTERRUPTED
from tests.conftest import FIXTURE_JOBS, POLICY_YAML
from tests.executor.conftest import job_results_held
from tests.executor.runs import results, run_now, tallied
from tests.fake_slack import FakeSlack
from tests.slack_requests import SlackActions
from tests.test_serve import Server, open_core, wait_for

SECRET = "0123456789abcdef0123456789abcdef"


def busy_workers(server: Server) -> list[dict[str, Any]]:
    return [w for w in server.health()["executor"]["local"]["workers"] if w["busy"]]


def test_a_worker_that_dies_mid_run_errors_that_run_only_and_the_server_goes_on(workdir: Path,
                                                                               database_url: str) -> None:
    url = database_url
    core = open_core(url, workdir / "jobs")
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    try:
        killed = run_now(core, "crashjobs.SelfKillingJob")
        runaway = run_now(core, "crashjobs.RunawayJob")
        wait_for(lambda: results(core)[killed]["status"] == "errored", timeout=20, what="the killed run")
        assert results(core)[killed]["error"] == "the process running it exited on signal 9 (SIGKILL)"
        wait_for(lambda: results(core)[runaway]["status"] == "errored", timeout=20, what="the runaway run")
        row = results(core)[runaway]
        assert row["error"] == "time limit of 3 s exceeded: the process running it was ended"
        assert row["completed_at"] - row["started_at"] < timedelta(seconds=8)
        assert server.health()["status"] == "ok"
        after = run_now(core, "testjobs.TestPass")
        wait_for(lambda: results(core)[after]["status"] == "completed", timeout=20, what="the next run")
        wait_for(lambda: all(w["alive"] for w in server.health()["executor"]["local"]["workers"]), timeout=20,
                 what="both places taken by fresh workers")
        assert sum(w["restarts"] for w in server.health()["executor"]["local"]["workers"]) == 2
    finally:
        assert server.terminate() == 0


def test_a_server_that_dies_between_a_run_s_end_and_its_group_commit_leaves_it_interrupted_never_run_twice(
    workdir: Path, database_url: str
) -> None:
    url = database_url
    core = open_core(url, workdir / "jobs")
    tally = workdir / "tally.txt"
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    job_result_id = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 1})
    wait_for(lambda: busy_workers(server), timeout=20, what="a worker to run the job")
    # Hold off every write to job results: the run ends, its report reaches the server, and the group commit waits.
    with job_results_held(url, reads_too=False):  # reads go on
        wait_for(lambda: tallied(tally)[job_result_id] == 1 and not busy_workers(server), timeout=20,
                 what="the run to end and its report to reach the server")
        assert server.health()["executor"]["local"]["recorded"] == 0
        server.kill()
    assert results(core)[job_result_id]["status"] == "running"  # the outcome died with the server
    restarted = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    try:
        wait_for(lambda: results(core)[job_result_id]["status"] == "errored", timeout=20,
                 what="the restarted server to mark it interrupted")
        assert results(core)[job_result_id]["error"] == INTERRUPTED
        assert tallied(tally) == Counter({job_result_id: 1})  # it ran once, and is never run again
    finally:
        assert restarted.terminate() == 0


def test_a_server_that_dies_after_the_commit_but_before_slack_was_told_tells_it_once_after_the_restart(
    workdir: Path, database_url: str
) -> None:
    url = database_url
    core = open_core(url, workdir / "jobs")

    def dms(fake: FakeSlack) -> list[Any]:  # the "run finished" DMs Slack accepted (the log goes in their thread)
        return [c for c in fake.calls_to("chat.postMessage")
                if c.params.get("channel") in ("UALICE", "DALICE") and not c.params.get("thread_ts")]

    with FakeSlack() as fake:
        env = {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "JOBGATE_SLACK_API_URL": fake.url}
        fake.fail("chat.postMessage", status=500, times=10_000)  # Slack is down
        server = Server(workdir, env)
        job_result_id = run_now(core, "testjobs.TestPass")
        wait_for(lambda: results(core)[job_result_id]["status"] == "completed", timeout=20, what="the run")
        server.kill()
        assert dms(fake) == []
        fake.clear_failures()
        restarted = Server(workdir, env)
        try:
            # A delivery the killed server had under way waits for its 60 s lease before another takes it.
            wait_for(lambda: dms(fake), timeout=90, what="the requester to be told")
            wait_for(lambda: restarted.health()["notifier"]["undelivered"] == 0, timeout=30,
                     what="the outbox to be empty")
        finally:
            assert restarted.terminate() == 0
        assert len(dms(fake)) == 1


def test_slack_is_answered_while_two_runaway_jobs_burn_both_cores_and_their_workers_are_replaced(
    workdir: Path
) -> None:
    """Every ``/jobs help`` sent while two jobs spin on both cores gets its ephemeral help; how quickly is measured by
    ``bench/execution.py`` (acks), not asserted here."""
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    with FakeSlack() as fake:
        server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test",
                                  "SLACK_SIGNING_SECRET": SECRET, "JOBGATE_SLACK_API_URL": fake.url,
                                  "JOBGATE_WORKERS": "2"})
        slack = SlackActions(base_url=server.url, signing_secret=SECRET, fake=fake)
        try:
            runaway = [run_now(core, "crashjobs.RunawayJob") for _ in range(2)]  # spin until their 3 s limit
            wait_for(lambda: {w["job_result_id"] for w in busy_workers(server)} == set(runaway), timeout=20,
                     what="two runaway jobs burning both cores")
            acks = []
            while all(results(core)[i]["status"] == "running" for i in runaway):
                acks.append(slack.command("help", user_id="UALICE"))
            wait_for(lambda: all(results(core)[i]["status"] != "running" for i in runaway), timeout=20,
                     what="both runaway jobs to end")
            wait_for(lambda: [(w["alive"], w["busy"], w["restarts"]) for w in server.health()["executor"]["local"]
                              ["workers"]] == [(True, False, 1)] * 2, timeout=20, what="both workers replaced")
            after = run_now(core, "testjobs.TestPass")
            wait_for(lambda: results(core)[after]["status"] == "completed", timeout=20, what="the next job")
        finally:
            slack.close()
            assert server.terminate() == 0
    assert acks, "no /jobs help was sent while the runaway jobs ran"
    for ack in acks:
        assert ack.status == 200 and ack.json is not None, ack.body
        assert ack.json["response_type"] == "ephemeral"
        assert "/jobs run" in ack.json["blocks"][1]["text"]["text"]
    found = results(core)
    assert {(found[i]["status"], found[i]["error"]) for i in runaway} == {
        ("errored", "time limit of 3 s exceeded: the process running it was ended")}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    return tmp_path
