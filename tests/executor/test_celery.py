"""The Celery executor end to end: ``jobgate serve`` with ``JOBGATE_EXECUTOR=celery`` and ``jobgate worker`` processes
on a real broker (Redis; RabbitMQ too where it runs) and a real database.

These tests are collected only when ``JOBGATE_TEST_BROKER_URL`` names a Redis broker (emptied before each test; see
``tests/executor/conftest.py``), the RabbitMQ variant only when ``JOBGATE_TEST_AMQP_URL`` is set too. A broker that is
named but unreachable fails the test: a test never skips. The heavy ones (1,000 due runs, ``kill -9``, a broker
restart with a ``redis-server`` of its own) run on PostgreSQL only: their names say so, which is how CI selects them
(``-k postgresql``).
Executions are counted by the jobs themselves (``crashjobs.TallyJob`` appends its job result id to a file), so
"runs once" means the job's code ran once, not only that one row exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu import Connection

from bot.app import Core
from bot.executor.celery_app import QUEUE, TASK_NAME, build_celery_app
from bot.executor.orders import SHUTDOWN_INTERRUPTED
from bot.executor.runs import INTERRUPTED
from tests.conftest import ALICE, APPROVER, FIXTURE_JOBS, POLICY_YAML, POSTGRES_URL, reset_postgres
from tests.executor.conftest import job_results_held
from tests.executor.runs import results, run_now, tallied
from tests.test_serve import JOBGATE, Server, free_port, open_core, schedule_once, stored, wait_for

BROKER_URL = os.environ["JOBGATE_TEST_BROKER_URL"]  # this module is collected only when it is set
AMQP_URL = os.environ.get("JOBGATE_TEST_AMQP_URL", "")


def reachable(url: str) -> bool:
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:
        return False
    return True


def empty(url: str) -> None:
    """Drop whatever an earlier test left in the broker (the queue, unacknowledged messages)."""
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
        return
    with Connection(url) as connection, contextlib.suppress(Exception):  # not declared yet: nothing to purge
        connection.channel().queue_purge(QUEUE)


def ready_broker(variable: str, url: str) -> str:
    """``url``, emptied; a broker the configuration names must be there."""
    if not reachable(url):
        pytest.fail(f"{variable}={url} names a broker that is not reachable: start it, or unset {variable} to leave "
                    "out the tests that need it", pytrace=False)
    empty(url)
    return url


@pytest.fixture
def broker() -> str:
    return ready_broker("JOBGATE_TEST_BROKER_URL", BROKER_URL)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    return tmp_path


class Worker:
    """One ``jobgate worker`` process."""

    def __init__(self, cwd: Path, env: dict[str, str], *, concurrency: int = 2) -> None:
        self.log = cwd / f"worker-{free_port()}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
        with self.log.open("w") as log:
            self.process = subprocess.Popen([JOBGATE, "worker", "--concurrency", str(concurrency)], cwd=cwd,
                                            env={**clean, **env}, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.ready, timeout=30, what=f"the worker to start ({self.log})")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.log.read_text()}")
        return " ready." in self.log.read_text()

    def pool_pids(self) -> set[int]:
        """The worker's pool processes."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    """Servers and workers started by a test, stopped at its end whatever happened."""
    started: list[Any] = []
    yield started
    for process in reversed(started):
        if isinstance(process, Worker):
            process.stop()
        elif process.process.poll() is None:
            process.terminate()


def celery_env(database_url: str, broker_url: str) -> dict[str, str]:
    return {"JOBGATE_DATABASE_URL": database_url, "JOBGATE_EXECUTOR": "celery",
            "JOBGATE_CELERY_BROKER_URL": broker_url}


def serve_and_work(workdir: Path, env: dict[str, str], processes: list[Any], *,
                   concurrency: int) -> tuple[Server, Worker]:
    """A ``jobgate serve`` and one ``jobgate worker`` on ``env``, both stopped at the test's end."""
    server = Server(workdir, env)
    processes.append(server)
    worker = Worker(workdir, env, concurrency=concurrency)
    processes.append(worker)
    return server, worker


def finished(core: Core, ids: list[str]) -> bool:
    found = results(core)
    return all(found[i]["status"] not in ("pending", "running") for i in ids)


# ------------------------------------------------------------------------------------------ limits and crashes


def test_under_celery_limits_and_crashes_end_errored_with_their_reason_and_sensitive_runs_stay_local(
    database_url: str, broker: str, workdir: Path, processes: list[Any]
) -> None:
    core = open_core(database_url, workdir / "jobs")
    server, worker = serve_and_work(workdir, celery_env(database_url, broker), processes, concurrency=2)
    jobs = {
        "runaway": run_now(core, "crashjobs.RunawayJob"),
        "killed": run_now(core, "crashjobs.SelfKillingJob"),
        "exited": run_now(core, "crashjobs.ExitingJob"),
        "soft": run_now(core, "crashjobs.SoftLimitCatcherJob", {"busy": "cpu"}),
        "memory": run_now(core, "crashjobs.MemoryHogJob"),
        "reporting": run_now(core, "crashjobs.ReportingJob", {"seconds": 0}),
    }
    wait_for(lambda: finished(core, list(jobs.values())), timeout=40, what="every job to end")
    found = results(core)
    outcome = {name: (found[i]["status"], found[i]["error"]) for name, i in jobs.items()}
    assert outcome == {
        "runaway": ("errored", "time limit of 3 s exceeded: the process running it was ended"),
        "killed": ("errored", "the process running it exited on signal 9 (SIGKILL)"),
        "exited": ("errored", "the process running it exited with exit code 3"),
        "soft": ("completed", None),
        "memory": ("errored", "the job ran out of memory (MemoryError)"),
        "reporting": ("completed", None),
    }
    runaway = found[jobs["runaway"]]
    assert runaway["completed_at"] - runaway["started_at"] < timedelta(seconds=8)
    assert found[jobs["soft"]]["output"] == "cleaned up"
    log = {e["message"] for e in stored(core, "job_log_entries") if e["job_result_id"] == jobs["reporting"]}
    assert "nice=0" in log  # a worker's priority is its operator's choice (nice jobgate worker)
    assert f"pid={server.process.pid}" not in log and f"pid={worker.process.pid}" not in log
    # The next jobs run on the same worker, whose pool replaced the processes it lost.
    after = [run_now(core, "testjobs.TestPass") for _ in range(4)]
    wait_for(lambda: finished(core, after), timeout=20, what="the next jobs")
    assert {results(core)[i]["status"] for i in after} == {"completed"}
    # A sensitive run asked of this server never goes through the broker: its own worker processes run it.
    token = core.services.tokens.create_api_token(user_id="UADMIN", description="test")
    answer = httpx.post(f"{server.url}/api/extras/jobs/runjobs.SensitiveJob/run/", json={"data": {"token": 42}},
                        headers={"Authorization": f"Token {token}"}, timeout=10)
    assert answer.status_code == 201, answer.text
    sensitive = answer.json()["job_result"]["id"]
    wait_for(lambda: finished(core, [sensitive]), timeout=20, what="the sensitive run")
    health = server.health(token)
    assert results(core)[sensitive]["runner_id"] == health["executor"]["local"]["runner_id"]
    assert results(core)[sensitive]["status"] == "completed"
    # /healthz shows the Celery worker, without its host name to a caller without a token.
    wait_for(lambda: len(server.health()["executor"]["celery"]["workers"]) == 1, timeout=20,
             what="the monitor to see the worker")
    [seen] = server.health()["executor"]["celery"]["workers"]
    assert seen["name"] == "worker 1" and seen["alive"] and seen["concurrency"] == 2
    assert os.uname().nodename not in httpx.get(f"{server.url}/healthz", timeout=2).text


def test_a_stopping_worker_lets_running_jobs_finish_within_the_grace_period_and_interrupts_the_rest(
    database_url: str, broker: str, workdir: Path, processes: list[Any]
) -> None:
    core = open_core(database_url, workdir / "jobs")
    tally = workdir / "tally.txt"
    quick = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 1})
    slow = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 120})
    worker = Worker(workdir, {**celery_env(database_url, broker), "JOBGATE_SHUTDOWN_GRACE": "3"})
    processes.append(worker)
    app = build_celery_app(broker_url=broker, default_time_limit=timedelta(minutes=5))
    for job_result_id in (quick, slow):
        app.send_task(TASK_NAME, args=[job_result_id], queue=QUEUE, time_limit=300, ignore_result=True)
    wait_for(lambda: set(tallied(tally)) == {quick, slow}, timeout=20, what="both jobs to start")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=30) == 0
    found = results(core)
    assert found[quick]["status"] == "completed"
    assert (found[slow]["status"], found[slow]["error"]) == ("errored", SHUTDOWN_INTERRUPTED)


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"] if AMQP_URL else ["redis"])
def test_the_same_message_delivered_twice_runs_the_job_once(database_url: str, broker: str, broker_kind: str,
                                                            workdir: Path, processes: list[Any]) -> None:
    url = broker if broker_kind == "redis" else ready_broker("JOBGATE_TEST_AMQP_URL", AMQP_URL)
    core = open_core(database_url, workdir / "jobs")
    tally = workdir / "tally.txt"
    job_result_id = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 1})
    processes.append(Worker(workdir, celery_env(database_url, url), concurrency=2))
    app = build_celery_app(broker_url=url, default_time_limit=timedelta(minutes=1))
    for _ in range(2):  # no serve here: this test is the publisher, and it publishes the same run twice
        app.send_task(TASK_NAME, args=[job_result_id], queue=QUEUE, time_limit=60, ignore_result=True)
    wait_for(lambda: finished(core, [job_result_id]), timeout=20, what="the run")
    wait_for(lambda: "message ignored" in processes[0].log.read_text(), timeout=20, what="the second delivery")
    assert tallied(tally) == Counter({job_result_id: 1})
    assert results(core)[job_result_id]["status"] == "completed"


# ------------------------------------------------------------------------------- messages of several runs


def send_several(broker_url: str, ids: list[str], *, copies: int = 1) -> None:
    """Publish one message carrying several runs (what the publisher does when many are due at once)."""
    app = build_celery_app(broker_url=broker_url, default_time_limit=timedelta(minutes=5))
    for _ in range(copies):
        app.send_task(TASK_NAME, args=[ids], queue=QUEUE, time_limit=600, ignore_result=True)


def test_a_message_of_several_runs_delivered_twice_runs_each_job_once(database_url: str, broker: str, workdir: Path,
                                                                       processes: list[Any]) -> None:
    core = open_core(database_url, workdir / "jobs")
    tally = workdir / "tally.txt"
    ids = [run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 0}) for _ in range(5)]
    worker = Worker(workdir, celery_env(database_url, broker), concurrency=2)
    processes.append(worker)
    send_several(broker, ids, copies=2)  # no serve here: this test is the publisher, and it publishes twice
    wait_for(lambda: finished(core, ids), timeout=30, what="the runs")
    wait_for(lambda: "message ignored" in worker.log.read_text(), timeout=20, what="the second delivery")
    assert tallied(tally) == Counter(dict.fromkeys(ids, 1))
    assert {results(core)[i]["status"] for i in ids} == {"completed"}
    told = Counter(m["ref_id"] for m in stored(core, "outbox") if m["kind"] == "run_finished")
    assert told == Counter(dict.fromkeys(ids, 1))


def test_runs_in_a_message_of_several_keep_their_own_limits_and_a_runaway_one_costs_the_others_nothing(
    database_url: str, broker: str, workdir: Path, processes: list[Any]
) -> None:
    core = open_core(database_url, workdir / "jobs")
    tally = workdir / "tally.txt"
    before = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 0})
    runaway = run_now(core, "crashjobs.RunawayJob")
    after = [run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 0}) for _ in range(3)]
    soft = [run_now(core, "crashjobs.SoftLimitCatcherJob", {"busy": busy}) for busy in ("cpu", "sleep")]
    env = celery_env(database_url, broker)
    processes.append(Worker(workdir, env, concurrency=1))
    send_several(broker, [before, runaway, *after])  # Celery's limit for each message: 600 s
    send_several(broker, soft)
    wait_for(lambda: results(core)[runaway]["status"] == "running" and results(core)[runaway]["started_at"],
             timeout=20, what="the runaway run to start")
    processes.append(Server(workdir, env))  # publishes again the runs the message gave back
    everything = [before, runaway, *after, *soft]
    wait_for(lambda: finished(core, everything), timeout=40, what="every run to end")
    found = results(core)
    assert (found[runaway]["status"], found[runaway]["error"]) == (
        "errored", "time limit of 3 s exceeded: the process running it was ended")
    assert found[runaway]["completed_at"] - found[runaway]["started_at"] < timedelta(seconds=8)
    assert {found[i]["status"] for i in [before, *after]} == {"completed"}
    assert tallied(tally) == Counter(dict.fromkeys([before, *after], 1))
    assert [(found[i]["status"], found[i]["output"]) for i in soft] == [("completed", "cleaned up")] * 2
    assert all(found[i]["completed_at"] - found[i]["started_at"] < timedelta(seconds=8) for i in soft)


def test_a_worker_killed_mid_message_leaves_its_unstarted_runs_to_another_worker_which_runs_each_once(
    database_url: str, broker: str, workdir: Path, processes: list[Any]
) -> None:
    core = open_core(database_url, workdir / "jobs")
    tally = workdir / "tally.txt"
    long = run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 60})
    rest = [run_now(core, "crashjobs.TallyJob", {"path": str(tally), "seconds": 0}) for _ in range(3)]
    env = celery_env(database_url, broker)
    victim = Worker(workdir, env, concurrency=1)
    processes.append(victim)
    send_several(broker, [long, *rest])
    wait_for(lambda: long in tallied(tally), timeout=20, what="the first run of the message to start")
    assert {results(core)[i]["status"] for i in rest} == {"running"}  # claimed with the message, not started
    pool = victim.pool_pids()
    victim.kill()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pool), timeout=10, what="the pool to die")
    processes.append(Server(workdir, env))  # its reaper finds the dead runner; its publisher hands the rest over
    processes.append(Worker(workdir, env, concurrency=1))
    wait_for(lambda: finished(core, [long, *rest]), timeout=40, what="every run to end")
    found = results(core)
    assert (found[long]["status"], found[long]["error"]) == ("errored", INTERRUPTED)
    assert {found[i]["status"] for i in rest} == {"completed"}
    assert tallied(tally) == Counter(dict.fromkeys([long, *rest], 1))


# ----------------------------------------------------------------------------------------- heavy: PostgreSQL

if POSTGRES_URL:

    @pytest.fixture
    def postgres() -> Iterator[str]:
        reset_postgres(POSTGRES_URL)
        yield POSTGRES_URL

    def schedule_burst(core: Core, tally: Path, count: int, *, lead: float, long_every: int = 0) -> list[str]:
        """``count`` one-offs due over ten seconds, ``lead`` seconds from now; every ``long_every``-th runs 3 s."""
        start = datetime.now(UTC) + timedelta(seconds=lead)
        ids = []
        for i in range(count):
            seconds = 3 if long_every and i % long_every == 0 else 0
            ids.append(schedule_once(core, "crashjobs.TallyJob", start + timedelta(milliseconds=10_000 * i // count),
                                     {"path": str(tally), "seconds": seconds}))
        assert datetime.now(UTC) < start, "creating the jobs took too long for the test's timing"
        return ids

    def settled(core: Core, scheduled: list[str]) -> bool:
        rows = stored(core, "job_results")
        done = [r for r in rows if r["status"] not in ("pending", "running")]
        return len(done) == len(rows) and len({r["scheduled_job_id"] for r in rows}) == len(scheduled)

    def test_celery_on_postgresql_runs_1000_due_one_offs_once_each_and_a_killed_worker_loses_only_its_own_runs(
        workdir: Path, postgres: str, broker: str, processes: list[Any]
    ) -> None:
        core = open_core(postgres, workdir / "jobs")
        tally = workdir / "tally.txt"
        scheduled = schedule_burst(core, tally, 1000, lead=25, long_every=40)
        env = celery_env(postgres, broker)
        processes.append(Server(workdir, env))
        victim, survivor = Worker(workdir, env), Worker(workdir, env)
        processes.extend([victim, survivor])

        def victim_runs_a_long_job() -> bool:
            pids = victim.pool_pids()
            # A 3-second run, so that it is still running when the worker is killed (a short one may finish first).
            return any(r["status"] == "running" and r["runner_id"] and int(r["runner_id"].split(":")[1]) in pids
                       and r["name"] == "Tally job" and r["started_at"] is not None
                       and (r["data"] or {}).get("seconds") == 3
                       for r in stored(core, "job_results"))

        wait_for(victim_runs_a_long_job, timeout=60, what="the first worker to run a job")
        victim_pids = victim.pool_pids()
        victim.kill()
        wait_for(lambda: settled(core, scheduled), timeout=180, what="every due time to run")
        rows = stored(core, "job_results")
        per_slot = Counter(r["scheduled_job_id"] for r in rows)
        assert per_slot == Counter(dict.fromkeys(scheduled, 1))  # every due time exactly once, none lost
        outcomes = Counter((r["status"], r["error"]) for r in rows)
        assert set(outcomes) <= {("completed", None), ("errored", INTERRUPTED)}
        interrupted = [r for r in rows if r["status"] == "errored"]
        assert interrupted and all(int(r["runner_id"].split(":")[1]) in victim_pids for r in interrupted)
        executions = tallied(tally)
        assert max(executions.values()) == 1  # no job ran twice
        assert {r["id"] for r in rows if r["status"] == "completed"} <= set(executions)

    def test_celery_on_postgresql_a_broker_restart_mid_stream_loses_no_due_run(
        workdir: Path, postgres: str, processes: list[Any]
    ) -> None:
        assert shutil.which("redis-server") is not None, (
            "redis-server is not on PATH: this test runs, kills and restarts a Redis of its own (install redis-server, "
            "or unset JOBGATE_TEST_BROKER_URL to leave out the Celery tests)")
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        redis_log = (workdir / "redis.log").open("w")
        redis = subprocess.Popen(command, stdout=redis_log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: reachable(url), timeout=10, what="redis-server to start")
            core = open_core(postgres, workdir / "jobs")
            tally = workdir / "tally.txt"
            scheduled = schedule_burst(core, tally, 300, lead=15)
            env = celery_env(postgres, url)
            processes.append(Server(workdir, env))
            processes.append(Worker(workdir, env))
            wait_for(lambda: len(tallied(tally)) >= 60, timeout=60, what="the stream to be under way")
            redis.send_signal(signal.SIGKILL)  # every message it held is gone
            redis.wait(timeout=10)
            time.sleep(2)  # the broker stays away while runs come due
            redis = subprocess.Popen(command, stdout=redis_log, stderr=subprocess.STDOUT)
            wait_for(lambda: settled(core, scheduled), timeout=150, what="every due time to run, late if need be")
        finally:
            redis.send_signal(signal.SIGTERM)
            redis.wait(timeout=10)
            redis_log.close()
        rows = stored(core, "job_results")
        assert Counter(r["scheduled_job_id"] for r in rows) == Counter(dict.fromkeys(scheduled, 1))
        assert Counter(r["status"] for r in rows) == Counter({"completed": 300})
        assert tallied(tally) == Counter({r["id"]: 1 for r in rows})  # each ran, and ran once

    def test_celery_on_postgresql_an_outcome_whose_write_meets_a_short_database_outage_is_recorded_once(
        workdir: Path, postgres: str, broker: str, processes: list[Any]
    ) -> None:
        """The run ends while ``job_results`` is locked (ACCESS EXCLUSIVE, from another connection; the shared
        server is never stopped). The worker waits at most 0.2 s for a lock, so its write fails as against an
        unreachable database; once the lock is gone, the outcome is recorded: completed, with its log, once."""
        core = open_core(postgres, workdir / "jobs")
        job_result_id = run_now(core, "crashjobs.ReportingJob", {"seconds": 1})
        impatient = f"{postgres}?options=-c%20lock_timeout%3D200"
        worker = Worker(workdir, celery_env(impatient, broker), concurrency=1)
        processes.append(worker)
        app = build_celery_app(broker_url=broker, default_time_limit=timedelta(minutes=1))
        app.send_task(TASK_NAME, args=[job_result_id], queue=QUEUE, time_limit=60, ignore_result=True)
        wait_for(lambda: results(core)[job_result_id]["status"] == "running", timeout=20, what="the run to start")

        def failed_writes() -> int:
            return worker.log.read_text().count(f"recording the outcome of job result {job_result_id} failed")

        with job_results_held(postgres, reads_too=True):
            wait_for(lambda: failed_writes() >= 3, timeout=20, what="the outcome's writes to fail a few times")
        wait_for(lambda: finished(core, [job_result_id]), timeout=20, what="the outcome to be recorded")
        found = results(core)[job_result_id]
        assert (found["status"], found["error"]) == ("completed", None)
        log = [e["message"] for e in stored(core, "job_log_entries") if e["job_result_id"] == job_result_id]
        assert "user=UALICE commit=True" in log and len(log) == len(set(log))
        told = [m for m in stored(core, "outbox") if m["kind"] == "run_finished" and m["ref_id"] == job_result_id]
        assert len(told) == 1


# ------------------------------------------------------------------------------------------- code version pinning


def test_a_celery_worker_running_other_code_than_approved_refuses_the_run_and_the_request_goes_back(
    database_url: str, broker: str, workdir: Path, processes: list[Any]
) -> None:
    core = open_core(database_url, workdir / "jobs")
    # The worker loads the job code as it is now.
    serve_and_work(workdir, celery_env(database_url, broker), processes, concurrency=1)
    module = workdir / "jobs" / "testjobs.py"
    module.write_text(module.read_text().replace('message=f"device=', 'message=f"edited device=', 1))
    core.services.management.sync_jobs()  # the server side knows the edited code; the worker still has the old
    outcome = core.services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", data={"device": "core-7"})
    assert outcome.scheduled_job is not None
    request_id = outcome.scheduled_job.id
    core.services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=request_id)

    def ended() -> list[dict[str, Any]]:
        return [r for r in results(core).values()
                if r["scheduled_job_id"] == request_id and r["status"] not in ("pending", "running")]

    wait_for(lambda: bool(ended()), timeout=30, what="the run to end")
    [run] = ended()
    assert run["status"] == "errored" and "not the approved version" in run["error"]
    log = [e["message"] for e in stored(core, "job_log_entries") if e["job_result_id"] == run["id"]]
    assert not any("device=core-7" in line for line in log)  # the job did not run
    wait_for(lambda: core.services.listings.get_scheduled_job(APPROVER, request_id).approval_state.value
             == "pending", timeout=30, what="the request to await approval again")
