"""The runner on a real database: outcomes, logs, leases, fencing, time limits, sensitive data, shutdown."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import event

from bot.app import Core
from bot.domain.results import JobResultStatus
from bot.runner import INTERRUPTED, Runner
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput, Services
from storage.db import read_tables
from storage.repositories import Repositories
from tests.conftest import ALICE, APPROVER, NOW


def runner(core: Core, *, runner_id: str | None = None, lease: timedelta = timedelta(seconds=60)) -> Runner:
    return Runner(core.db, core.catalog, runner_id=runner_id or core.handover.runner_id, transient=core.handover,
                  lease=lease, clock=core.services.clock)


def run_now(services: Services, job: str, data: dict[str, object] | None = None, *, commit: bool = True) -> str:
    outcome = services.requests.request_job(actor=ALICE, job=job, data=data, commit=commit, now=NOW)
    assert outcome.job_result is not None
    return outcome.job_result.id


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    """Poll a condition with a deadline (the runner works in threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_a_run_completes_with_its_log_and_tells_the_requester(core: Core, services: Services) -> None:
    result_id = run_now(services, "testjobs.APITestJob", {"var1": "x", "var2": 1, "var3": False, "var4": "role-a"})
    outcomes = runner(core).run_pending(now=NOW)
    assert [(o.job_result_id, o.status, o.recorded) for o in outcomes] == [
        (result_id, JobResultStatus.COMPLETED, True)
    ]
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.COMPLETED and result.completed_at == NOW
    assert [(e.level, e.message) for e in result.log] == [("info", "var1=x commit=True"), ("success", "done")]
    with core.db.read() as session:
        sent = [(e.kind, e.channel, e.payload) for e in Repositories(session).outbox.list_recent(limit=100)]
    assert sent == [("run_finished", "UALICE", {"job_result_id": result_id})]


def test_a_job_that_logs_a_failure_ends_failed(core: Core, services: Services) -> None:
    result_id = run_now(services, "testjobs.TestFail")
    runner(core).run_pending(now=NOW)
    assert services.listings.get_job_result(ALICE, result_id).status is JobResultStatus.FAILED


def test_an_exception_is_logged_with_its_traceback_and_the_run_fails(core: Core, services: Services) -> None:
    result_id = run_now(services, "runjobs.RaisingJob")
    runner(core).run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.FAILED
    assert result.log[0].message == "about to fail"
    assert result.log[1].level == "failure"
    assert result.log[1].message.startswith("RuntimeError: device unreachable")
    assert "Traceback (most recent call last)" in result.log[1].message


def test_a_dry_run_passes_commit_false(core: Core, services: Services) -> None:
    result_id = run_now(services, "testjobs.ApprovalJob", commit=False)
    runner(core).run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.dry_run and result.log[0].message == "device=core-1 commit=False"


def test_a_job_disabled_since_it_was_approved_does_not_run_and_says_why(core: Core, services: Services) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", now=NOW).scheduled_job
    assert sj is not None
    services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj.id, now=NOW)
    Dispatcher(core.db, grace=timedelta(hours=1), clock=services.clock).dispatch_due(now=NOW)
    services.management.set_job_enabled("testjobs.ApprovalJob", False, now=NOW)
    [outcome] = runner(core).run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, outcome.job_result_id)
    assert result.status is JobResultStatus.ERRORED
    assert result.log[0].message == result.error == "This job is not enabled to be run."  # as a request is told


def test_a_cancelled_scheduled_job_does_not_run_its_dispatched_result(core: Core, services: Services) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", now=NOW, schedule=ScheduleInput(
        interval="hourly", name="h", start_time=NOW + timedelta(minutes=1))).scheduled_job
    assert sj is not None
    Dispatcher(core.db, grace=timedelta(hours=1), clock=services.clock).dispatch_due(
        now=NOW + timedelta(minutes=1))
    services.management.cancel_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW + timedelta(minutes=1))
    [outcome] = runner(core).run_pending(now=NOW)
    assert outcome.status is JobResultStatus.ERRORED


def test_sensitive_data_reaches_only_the_process_that_received_it(core: Core, services: Services) -> None:
    result_id = run_now(services, "runjobs.SensitiveJob", {"token": 123456})
    assert runner(core, runner_id="another-process").run_pending(now=NOW) == []  # pinned: not ours
    [outcome] = runner(core).run_pending(now=NOW)
    assert outcome.status is JobResultStatus.COMPLETED
    assert result_id not in core.handover
    for table, rows in read_tables(core.db.engine).items():
        for row in rows:
            assert "123456" not in repr(tuple(row.values())), table


def test_a_sensitive_run_whose_process_died_is_errored_when_its_handover_expires(core: Core,
                                                                                 services: Services) -> None:
    result_id = run_now(services, "runjobs.SensitiveJob", {"token": 1})
    assert runner(core, runner_id="survivor").reap(now=NOW + timedelta(minutes=11)) == 1
    assert services.listings.get_job_result(ALICE, result_id).status is JobResultStatus.ERRORED


def test_a_run_whose_process_died_is_marked_interrupted_and_its_late_outcome_is_dropped(core: Core,
                                                                                        services: Services) -> None:
    result_id = run_now(services, "testjobs.TestPass")
    dead = runner(core, runner_id="dead-process", lease=timedelta(seconds=3))
    with core.db.write() as session:
        [claimed] = Repositories(session).job_results.claim(runner_id="dead-process", clock=lambda: NOW,
                                                            lease=timedelta(seconds=3), limit=10)
    survivor = runner(core, runner_id="survivor")
    assert survivor.reap(now=NOW + timedelta(seconds=2)) == 0  # lease still valid
    assert survivor.reap(now=NOW + timedelta(seconds=4)) == 1
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.ERRORED and result.error == INTERRUPTED
    # The "dead" process comes back and tries to record success: fenced out.
    late = dead.execute(claimed, now=NOW + timedelta(seconds=5))
    assert not late.recorded
    assert services.listings.get_job_result(ALICE, result_id).status is JobResultStatus.ERRORED


def test_the_heartbeat_keeps_a_long_run_alive(core: Core, services: Services) -> None:
    run_now(services, "runjobs.WaitingJob", {"seconds": 1})
    r = runner(core, lease=timedelta(seconds=3))
    r.claim_and_start(now=NOW)
    wait_until(lambda: r.busy == 1)
    assert r.heartbeat(now=NOW + timedelta(seconds=2)) == 1  # lease now runs to NOW + 5 s
    assert runner(core, runner_id="other").reap(now=NOW + timedelta(seconds=4)) == 0
    wait_until(lambda: r.busy == 0)


def test_the_soft_time_limit_raises_inside_the_job(core: Core, services: Services) -> None:
    result_id = run_now(services, "runjobs.SoftLimitedJob")
    r = runner(core)
    r.claim_and_start()
    wait_until(lambda: r.busy == 1)
    wait_until(lambda: (r.enforce_time_limits() or r.busy == 0))
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.FAILED
    assert [e.message for e in result.log] == ["cleaning up after the soft limit", "Soft time limit of 0.2 s exceeded."]


def test_the_hard_time_limit_abandons_the_job_as_errored(core: Core, services: Services) -> None:
    result_id = run_now(services, "runjobs.HardLimitedJob")
    r = runner(core)
    r.claim_and_start()
    wait_until(lambda: r.busy == 1)
    wait_until(lambda: (r.enforce_time_limits() or r.busy == 0))
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.ERRORED
    assert result.error == "Time limit of 0.3 s exceeded; the job was abandoned."


def test_graceful_shutdown_leaves_nothing_running(core: Core, services: Services) -> None:
    quick = run_now(services, "testjobs.TestPass")
    slow = run_now(services, "runjobs.WaitingJob", {"seconds": 60})
    r = runner(core)
    r.claim_and_start()
    wait_until(lambda: services.listings.get_job_result(ALICE, quick).status is JobResultStatus.COMPLETED)
    assert r.shutdown(timedelta(seconds=0.2)) == 1
    assert services.listings.get_job_result(ALICE, slow).status is JobResultStatus.ERRORED
    with core.db.read() as session:
        assert Repositories(session).job_results.count_by_status().get(JobResultStatus.RUNNING, 0) == 0
    assert r.claim_and_start() == 0  # no longer accepting work


def test_claims_respect_the_number_of_workers(core: Core, services: Services) -> None:
    for _ in range(5):
        run_now(services, "runjobs.WaitingJob", {"seconds": 60})
    r = runner(core)
    r.workers = 2
    assert r.claim_and_start() == 2
    assert r.claim_and_start() == 0
    r.shutdown(timedelta(seconds=0))


def test_runs_of_a_process_on_this_host_that_is_gone_are_interrupted_at_once(core: Core, services: Services) -> None:
    result_id = run_now(services, "testjobs.TestPass")
    ghost = f"{socket.gethostname()[:32]}:999999999:deadbeef"  # no such pid
    with core.db.write() as session:
        Repositories(session).job_results.claim(runner_id=ghost, clock=lambda: NOW, lease=timedelta(hours=1), limit=1)
    assert runner(core).reap_dead_local(now=NOW) == 1
    assert services.listings.get_job_result(ALICE, result_id).error == INTERRUPTED
    assert runner(core).reap_dead_local(now=NOW) == 0


def test_a_run_released_at_shutdown_leaves_the_database_alone_when_its_thread_ends(core: Core,
                                                                                   services: Services) -> None:
    result_id = run_now(services, "runjobs.WaitingJob", {"seconds": 1})
    r = runner(core)
    r.claim_and_start()
    wait_until(lambda: r.busy == 1)
    threads = [t for t in threading.enumerate() if t.name == f"job-{result_id[:8]}"]
    assert len(threads) == 1
    assert r.shutdown(timedelta(seconds=0)) == 1
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", capture)
    try:
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive()
    finally:
        event.remove(core.db.engine, "before_cursor_execute", capture)
    assert statements == []
