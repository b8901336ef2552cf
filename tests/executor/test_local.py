"""The local executor on a real database and real worker processes: claims in batches, outcomes recorded in group
commits (fenced by the claim), refusals, sensitive data, leases, limits, crashes and shutdown."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.app import Core
from bot.domain.outbox import OutboxKind
from bot.domain.results import JobResultStatus
from bot.executor.local import LocalExecutor
from bot.executor.orders import SHUTDOWN_INTERRUPTED, RunReport
from bot.executor.runs import INTERRUPTED, reap_dead_local, reap_expired, record_outcomes
from bot.jobs import LogEntry, LogLevel
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput, Services
from storage.db import read_tables
from storage.repositories import Repositories
from tests.conftest import ALICE, APPROVER, NOW
from tests.test_serve import wait_for


def run_now(services: Services, job: str, data: dict[str, object] | None = None, *, commit: bool = True,
            delay: float = 0) -> str:
    outcome = services.requests.request_job(actor=ALICE, job=job, data=data, commit=commit,
                                            now=NOW + timedelta(seconds=delay))
    assert outcome.job_result is not None
    return outcome.job_result.id


@pytest.fixture
def executors(core: Core) -> Iterator[list[LocalExecutor]]:
    made: list[LocalExecutor] = []
    yield made
    for executor in made:
        if executor.pool.accepting:
            executor.stop(timedelta(seconds=0))


def start(core: Core, executors: list[LocalExecutor], *, workers: int = 2, prefetch: int = 0,
          lease: timedelta = timedelta(seconds=60), claiming: bool = False) -> LocalExecutor:
    executor = LocalExecutor(core.db, core.catalog, core.handover, workers=workers,
                             default_time_limit=timedelta(seconds=60), lease=lease, clock=core.services.clock,
                             prefetch=prefetch)
    executor.start(claiming=claiming)
    executors.append(executor)
    assert executor.pool.wait_ready(30)
    return executor


def status_of(services: Services, job_result_id: str) -> JobResultStatus:
    return services.listings.get_job_result(ALICE, job_result_id).status


# ------------------------------------------------------------------------------------------------------ outcomes


def test_a_run_completes_in_a_worker_with_its_log_and_output_and_tells_the_requester(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    result_id = run_now(services, "crashjobs.ReportingJob", {"seconds": 0})
    executor = start(core, executors)
    outcomes = executor.run_pending(now=NOW)
    assert [(o.job_result_id, o.status, o.recorded) for o in outcomes] == [
        (result_id, JobResultStatus.COMPLETED, True)]
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.COMPLETED and result.output == "{'answer': 42}"
    assert result.started_at is not None and result.completed_at is not None
    assert result.started_at <= result.completed_at
    messages = [e.message for e in result.log]
    assert int(messages[0].removeprefix("pid=")) != os.getpid()  # never in this process
    assert messages[-1] == "user=UALICE commit=True"
    with core.db.read() as session:
        sent = [(e.kind, e.channel, e.payload) for e in Repositories(session).outbox.list_recent(limit=10)]
    assert sent == [(OutboxKind.RUN_FINISHED, "UALICE", {"job_result_id": result_id})]


def test_failures_exceptions_and_dry_runs(core: Core, services: Services, executors: list[LocalExecutor]) -> None:
    failing = run_now(services, "testjobs.TestFail")
    raising = run_now(services, "runjobs.RaisingJob")
    dry = run_now(services, "testjobs.ApprovalJob", commit=False)
    start(core, executors).run_pending(now=NOW)
    assert services.listings.get_job_result(ALICE, failing).status is JobResultStatus.FAILED
    raised = services.listings.get_job_result(ALICE, raising)
    assert (raised.status, raised.error) == (JobResultStatus.FAILED, "RuntimeError: device unreachable")
    assert raised.log[1].message.startswith("RuntimeError: device unreachable")
    assert "Traceback (most recent call last)" in raised.log[1].message
    dry_run = services.listings.get_job_result(ALICE, dry)
    assert dry_run.dry_run and dry_run.log[0].message == "device=core-1 commit=False"


def test_a_job_disabled_since_it_was_approved_does_not_run_and_says_why(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", now=NOW).scheduled_job
    assert sj is not None
    services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj.id, now=NOW)
    Dispatcher(core.db, grace=timedelta(hours=1), clock=services.clock).dispatch_due(now=NOW)
    services.management.set_job_enabled("testjobs.ApprovalJob", False, now=NOW)
    [outcome] = start(core, executors).run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, outcome.job_result_id)
    assert result.status is JobResultStatus.ERRORED
    assert result.log[0].message == result.error == "This job is not enabled to be run."  # as a request is told


def test_a_cancelled_scheduled_job_does_not_run_its_dispatched_result(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", now=NOW, schedule=ScheduleInput(
        interval="hourly", name="h", start_time=NOW + timedelta(minutes=1))).scheduled_job
    assert sj is not None
    Dispatcher(core.db, grace=timedelta(hours=1), clock=services.clock).dispatch_due(now=NOW + timedelta(minutes=1))
    services.management.cancel_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW + timedelta(minutes=1))
    [outcome] = start(core, executors).run_pending(now=NOW)
    assert outcome.status is JobResultStatus.ERRORED


# ------------------------------------------------------------------------------------------------ sensitive data


def test_sensitive_data_reaches_only_the_process_that_received_it_and_is_never_stored(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    used = run_now(services, "runjobs.SensitiveJob", {"token": 123456})
    leaky = run_now(services, "crashjobs.PinJob", {"pin": "98-SECRET-76"})  # int() puts the PIN in the message
    other = LocalExecutor(core.db, core.catalog, type(core.handover)("another-process"), workers=1,
                          default_time_limit=timedelta(seconds=60), clock=core.services.clock)
    other.start(claiming=False)
    executors.append(other)
    assert other.run_pending(now=NOW) == []  # pinned: not its runs
    outcomes = {o.job_result_id: o.status for o in start(core, executors).run_pending(now=NOW)}
    assert outcomes == {used: JobResultStatus.COMPLETED, leaky: JobResultStatus.FAILED}
    assert used not in core.handover and leaky not in core.handover
    assert services.listings.get_job_result(ALICE, leaky).error == "ValueError"
    stored = repr(read_tables(core.db.engine))
    assert "123456" not in stored and "SECRET" not in stored


def test_a_sensitive_run_whose_process_died_is_errored_when_its_handover_expires(core: Core,
                                                                                 services: Services) -> None:
    result_id = run_now(services, "runjobs.SensitiveJob", {"token": 1})
    assert reap_expired(core.db, now=NOW + timedelta(minutes=11)) == 1
    assert status_of(services, result_id) is JobResultStatus.ERRORED


# ----------------------------------------------------------------------------------------- leases and fencing


def test_a_run_whose_process_died_is_interrupted_and_its_late_outcome_is_dropped(core: Core,
                                                                                 services: Services) -> None:
    result_id = run_now(services, "testjobs.TestPass")
    with core.db.write() as session:
        Repositories(session).job_results.claim(runner_id="dead-process", clock=lambda: NOW,
                                                lease=timedelta(seconds=3), limit=10)
    assert reap_expired(core.db, now=NOW + timedelta(seconds=2)) == 0  # lease still valid
    assert reap_expired(core.db, now=NOW + timedelta(seconds=4)) == 1
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.ERRORED and result.error == INTERRUPTED
    late = RunReport(job_result_id=result_id, status=JobResultStatus.COMPLETED, output=None, error=None,
                     log=(LogEntry(level=LogLevel.SUCCESS, message="done", obj=None, logged_at=NOW),),
                     started_at=NOW, finished_at=NOW)
    with core.db.write() as session:  # the "dead" process comes back and tries to record success: fenced out
        assert record_outcomes(Repositories(session), [(late, "UALICE")], runner_id="dead-process", now=NOW) == set()
    assert status_of(services, result_id) is JobResultStatus.ERRORED


def test_the_heartbeat_keeps_a_long_run_alive(core: Core, services: Services,
                                              executors: list[LocalExecutor]) -> None:
    result_id = run_now(services, "runjobs.WaitingJob", {"seconds": 2})
    executor = start(core, executors, lease=timedelta(seconds=3))
    assert executor.claim(now=NOW) == 1
    wait_for(lambda: executor.pool.busy == 1, timeout=10, what="the job to start")
    assert executor.heartbeat(now=NOW + timedelta(seconds=2)) == 1  # the lease now runs to NOW + 5 s
    assert reap_expired(core.db, now=NOW + timedelta(seconds=4)) == 0
    wait_for(lambda: status_of(services, result_id) is JobResultStatus.COMPLETED, timeout=10, what="the outcome")


def test_runs_of_a_process_on_this_host_that_is_gone_are_interrupted_at_once(core: Core,
                                                                             services: Services) -> None:
    result_id = run_now(services, "testjobs.TestPass")
    ghost = f"{socket.gethostname()[:32]}:999999999:deadbeef"  # no such pid
    with core.db.write() as session:
        Repositories(session).job_results.claim(runner_id=ghost, clock=lambda: NOW, lease=timedelta(hours=1), limit=1)
    assert reap_dead_local(core.db, own_runner_id=core.handover.runner_id, now=NOW) == 1
    assert services.listings.get_job_result(ALICE, result_id).error == INTERRUPTED
    assert reap_dead_local(core.db, own_runner_id=core.handover.runner_id, now=NOW) == 0


# ----------------------------------------------------------------------------------------- limits and crashes


def test_the_soft_time_limit_raises_inside_the_job(core: Core, services: Services,
                                                   executors: list[LocalExecutor]) -> None:
    result_id = run_now(services, "runjobs.SoftLimitedJob")
    start(core, executors).run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, result_id)
    assert result.status is JobResultStatus.FAILED
    assert [e.message for e in result.log] == ["cleaning up after the soft limit", "Soft time limit of 0.2 s exceeded."]


def test_the_hard_time_limit_ends_the_process_and_the_run_is_errored_naming_it(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    result_id = run_now(services, "runjobs.HardLimitedJob")
    executor = start(core, executors)
    executor.run_pending(now=NOW)
    result = services.listings.get_job_result(ALICE, result_id)
    assert (result.status, result.error) == (
        JobResultStatus.ERRORED, "time limit of 0.3 s exceeded: the process running it was ended")
    assert result.log[-1].message.startswith("Time limit of 0.3 s exceeded")
    wait_for(lambda: all(w.alive for w in executor.pool.health()), timeout=10, what="a fresh worker")


def test_a_soft_limit_firing_as_a_run_ends_never_loses_its_outcome_nor_a_worker_slot(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    ids = [run_now(services, "crashjobs.RacingSoftLimitJob") for _ in range(40)]
    executor = start(core, executors, prefetch=2)
    outcomes = executor.run_pending(now=NOW)
    assert sorted(o.job_result_id for o in outcomes) == sorted(ids)  # each recorded, once
    assert {o.status for o in outcomes} <= {JobResultStatus.COMPLETED, JobResultStatus.FAILED}
    assert all(o.recorded for o in outcomes)
    assert executor.pool.free_slots() == executor.pool.size and executor.pool.in_flight() == []
    assert sum(w.restarts for w in executor.pool.health()) == 0


def test_outcomes_are_recorded_in_group_commits(core: Core, services: Services,
                                                executors: list[LocalExecutor]) -> None:
    ids = [run_now(services, "testjobs.TestPass") for _ in range(60)]
    executor = start(core, executors, prefetch=30)
    assert len(executor.run_pending(now=NOW)) == 60
    assert executor.committer.recorded == 60 and executor.committer.commits < 30
    assert {status_of(services, i) for i in ids} == {JobResultStatus.COMPLETED}


# ------------------------------------------------------------------------------------------ claims and shutdown


def test_claims_respect_the_workers_and_the_prefetch(core: Core, services: Services,
                                                     executors: list[LocalExecutor]) -> None:
    for _ in range(6):
        run_now(services, "runjobs.WaitingJob", {"seconds": 60})
    executor = start(core, executors, workers=2, prefetch=1)
    assert executor.claim(now=NOW) == 3
    assert executor.claim(now=NOW) == 0
    with core.db.read() as session:
        counts = Repositories(session).job_results.count_by_status()
    assert counts == {JobResultStatus.RUNNING: 3, JobResultStatus.PENDING: 3}


def test_graceful_shutdown_lets_quick_jobs_finish_and_interrupts_the_rest(
    core: Core, services: Services, executors: list[LocalExecutor]
) -> None:
    threads_before = {t.name for t in threading.enumerate()}
    quick = run_now(services, "testjobs.TestPass")
    slow = run_now(services, "runjobs.WaitingJob", {"seconds": 60})
    executor = start(core, executors, workers=2, claiming=True)
    wait_for(lambda: status_of(services, quick) is JobResultStatus.COMPLETED, timeout=10, what="the quick job")
    wait_for(lambda: executor.pool.busy == 1, timeout=10, what="the slow job")
    assert executor.stop(timedelta(seconds=0.2)) == 1
    result = services.listings.get_job_result(ALICE, slow)
    assert (result.status, result.error) == (JobResultStatus.ERRORED, SHUTDOWN_INTERRUPTED)
    with core.db.read() as session:
        assert JobResultStatus.RUNNING not in Repositories(session).job_results.count_by_status()
    assert executor.claim(now=NOW) == 0  # no longer accepting work
    wait_for(lambda: {t.name for t in threading.enumerate()} <= threads_before, timeout=10,
               what="no thread left behind")


def test_a_claimed_run_that_never_started_is_given_back_at_shutdown(core: Core, services: Services,
                                                                    executors: list[LocalExecutor]) -> None:
    busy = run_now(services, "runjobs.WaitingJob", {"seconds": 60})
    queued = run_now(services, "testjobs.TestPass", delay=1)  # claimed second
    executor = start(core, executors, workers=1, prefetch=1)
    assert executor.claim(now=NOW) == 2
    wait_for(lambda: executor.pool.busy == 1, timeout=10, what="the first job to run")
    executor.stop(timedelta(seconds=0))
    assert status_of(services, busy) is JobResultStatus.ERRORED
    assert status_of(services, queued) is JobResultStatus.PENDING  # another server, or this one restarted, runs it
