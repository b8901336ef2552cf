"""The local executor's worker pool with real processes: limits that hold, crashes that stay contained.

Every test waits on a condition with a deadline (a report arriving, a worker being replaced), never on a bare sleep.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.domain.results import JobResultStatus
from bot.executor.execution import WORKER_NICE
from bot.executor.orders import SHUTDOWN_INTERRUPTED
from bot.executor.pool import PoolStoppedError, WorkerPool
from tests.executor.conftest import Orders, Reports
from tests.test_serve import wait_for

PoolFactory = Callable[..., WorkerPool]


def messages(report: Any) -> list[str]:
    return [entry.message for entry in report.log]


def logged(report: Any, key: str) -> str:
    return next(m.split("=", 1)[1] for m in messages(report) if m.startswith(key + "="))


def test_a_job_runs_in_a_worker_process_at_a_lower_cpu_priority(pool_factory: PoolFactory, orders: Orders,
                                                                 reports: Reports) -> None:
    pool = pool_factory(size=1)
    order = orders("crashjobs.ReportingJob", {"seconds": 0}, user_id="UBOB")
    pool.submit(order)
    report = reports.wait_for(order.job_result_id, timeout=10)
    assert report.status is JobResultStatus.COMPLETED and report.output == "{'answer': 42}"
    assert int(logged(report, "pid")) == pool.health()[0].pid != os.getpid()
    assert int(logged(report, "nice")) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)
    assert logged(report, "user") == "UBOB commit=True"


def test_a_worker_imports_the_jobs_once_and_runs_one_order_after_another(pool_factory: PoolFactory,
                                                                         orders: Orders, reports: Reports) -> None:
    pool = pool_factory(size=1)
    first, second = (orders("crashjobs.ReportingJob", {"seconds": 0}) for _ in range(2))
    pool.submit(first)
    pool.submit(second)
    a, b = reports.wait_for(first.job_result_id, timeout=10), reports.wait_for(second.job_result_id, timeout=10)
    assert logged(a, "imported_at") == logged(b, "imported_at") and logged(a, "pid") == logged(b, "pid")
    assert a.finished_at <= b.started_at
    assert pool.health()[0].runs == 2


def test_a_runaway_job_is_ended_at_its_time_limit_and_its_worker_is_replaced(pool_factory: PoolFactory,
                                                                             orders: Orders, reports: Reports) -> None:
    pool = pool_factory(size=1)
    first_pid = pool.health()[0].pid
    runaway = orders("crashjobs.RunawayJob")  # while True: pass, time_limit = 3
    started = time.monotonic()
    pool.submit(runaway)
    report = reports.wait_for(runaway.job_result_id, timeout=8)
    assert time.monotonic() - started < 8
    assert report.status is JobResultStatus.ERRORED
    assert report.error == "time limit of 3 s exceeded: the process running it was ended"
    assert messages(report)[-1].startswith("Time limit of 3 s exceeded")
    wait_for(lambda: pool.health()[0].alive, timeout=10, what="a fresh worker")
    assert pool.health()[0].pid != first_pid and pool.health()[0].restarts == 1
    after = orders("testjobs.TestPass")
    pool.submit(after)
    assert reports.wait_for(after.job_result_id, timeout=10).status is JobResultStatus.COMPLETED


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("crashjobs.SleepyJob", "time limit of 1 s exceeded: the process running it was ended"),
        ("crashjobs.ExitingJob", "the process running it exited with exit code 3"),
        ("crashjobs.SelfKillingJob", "the process running it exited on signal 9 (SIGKILL)"),
        ("crashjobs.MemoryHogJob", "the job ran out of memory (MemoryError)"),
    ],
)
def test_a_job_that_takes_its_process_down_ends_errored_with_the_reason_and_the_next_job_runs(
    pool_factory: PoolFactory, orders: Orders, reports: Reports, slug: str, error: str
) -> None:
    pool = pool_factory(size=2)
    neighbour = orders("runjobs.WaitingJob", {"seconds": 2})
    pool.submit(neighbour)
    culprit = orders(slug)
    pool.submit(culprit)
    report = reports.wait_for(culprit.job_result_id, timeout=10)
    assert (report.status, report.error) == (JobResultStatus.ERRORED, error)
    assert reports.wait_for(neighbour.job_result_id, timeout=10).status is JobResultStatus.COMPLETED
    wait_for(lambda: all(w.alive for w in pool.health()), timeout=10, what="the pool to be whole again")
    assert sum(w.restarts for w in pool.health()) == 1
    nexts = [orders("testjobs.TestPass") for _ in range(4)]
    for order in nexts:
        pool.submit(order)
    assert {reports.wait_for(o.job_result_id, timeout=10).status for o in nexts} == {JobResultStatus.COMPLETED}
    assert not reports.duplicates


@pytest.mark.parametrize("busy", ["sleep", "cpu"])
def test_the_soft_limit_raises_inside_the_job_which_may_catch_it(pool_factory: PoolFactory, orders: Orders,
                                                                 reports: Reports, busy: str) -> None:
    pool = pool_factory(size=1)
    order = orders("crashjobs.SoftLimitCatcherJob", {"busy": busy})  # soft 1 s, hard 20 s
    pool.submit(order)
    report = reports.wait_for(order.job_result_id, timeout=10)
    assert report.status is JobResultStatus.COMPLETED and report.output == "cleaned up"
    assert messages(report)[0].startswith("soft limit reached after 1.")
    assert pool.health()[0].restarts == 0  # the same process goes on


def test_an_uncaught_soft_limit_fails_the_run_and_the_worker_goes_on(pool_factory: PoolFactory, orders: Orders,
                                                                     reports: Reports) -> None:
    pool = pool_factory(size=1)
    order = orders("runjobs.SoftLimitedJob")  # soft 0.2 s, re-raises
    pool.submit(order)
    report = reports.wait_for(order.job_result_id, timeout=10)
    assert (report.status, report.error) == (JobResultStatus.FAILED, "Soft time limit of 0.2 s exceeded.")
    assert pool.health()[0].restarts == 0


def test_health_shows_each_worker_and_what_it_runs(pool_factory: PoolFactory, orders: Orders,
                                                   reports: Reports) -> None:
    pool = pool_factory(size=2)
    order = orders("runjobs.WaitingJob", {"seconds": 30})
    pool.submit(order)
    wait_for(lambda: pool.busy == 1, timeout=10, what="the job to start")
    health = pool.health()
    assert [(w.slot, w.alive) for w in health] == [(0, True), (1, True)]
    assert sorted((w.busy, w.job_result_id) for w in health) == [(False, None), (True, order.job_result_id)]
    assert all(w.pid and w.pid != os.getpid() for w in health)


def test_free_slots_count_running_and_queued_orders(pool_factory: PoolFactory, orders: Orders,
                                                    reports: Reports) -> None:
    pool = pool_factory(size=2)
    assert pool.free_slots() == 2
    waiting = [orders("runjobs.WaitingJob", {"seconds": 30}) for _ in range(3)]
    for order in waiting:
        pool.submit(order)
    assert pool.free_slots() == 0
    assert sorted(pool.in_flight()) == sorted(o.job_result_id for o in waiting)
    wait_for(lambda: pool.busy == 2, timeout=10, what="two jobs to run")
    unstarted = pool.stop(grace=0)
    assert unstarted == [waiting[2]]
    for order in waiting[:2]:
        report = reports.wait_for(order.job_result_id, timeout=10)
        assert (report.status, report.error) == (JobResultStatus.ERRORED, SHUTDOWN_INTERRUPTED)
    assert pool.free_slots() == 0 and pool.in_flight() == []
    with pytest.raises(PoolStoppedError):
        pool.submit(orders("testjobs.TestPass"))


def test_stopping_lets_running_jobs_finish_within_the_grace_period(pool_factory: PoolFactory, orders: Orders,
                                                                   reports: Reports) -> None:
    pool = pool_factory(size=1)
    order = orders("runjobs.WaitingJob", {"seconds": 1})
    pool.submit(order)
    wait_for(lambda: pool.busy == 1, timeout=10, what="the job to start")
    assert pool.stop(grace=20) == []
    assert reports.by_id[order.job_result_id].status is JobResultStatus.COMPLETED
    assert [w.alive for w in pool.health()] == [False]


def test_a_worker_that_cannot_even_start_is_retried_with_a_growing_delay(tmp_path: Any, reports: Reports) -> None:
    jobs = tmp_path / "brokenjobs"
    jobs.mkdir()
    (jobs / "suicidal.py").write_text("import os\nos._exit(1)\n")
    pool = WorkerPool(size=1, jobs_paths=(jobs,), on_report=reports, entry_points=False)
    pool.start()
    try:
        assert not pool.wait_ready(timeout=2)
        assert 2 <= pool.health()[0].restarts <= 6  # 0.1 s, 0.2 s, 0.4 s, 0.8 s ... not a busy loop
    finally:
        pool.stop(grace=0)


def test_the_workers_die_with_the_server(jobs_dir: Any) -> None:
    script = (
        "import sys, time\n"
        "from bot.executor.pool import WorkerPool\n"
        f"pool = WorkerPool(size=2, jobs_paths=[{str(jobs_dir)!r}], on_report=print, entry_points=False)\n"
        "pool.start()\n"
        "assert pool.wait_ready(30)\n"
        "print(' '.join(str(w.pid) for w in pool.health()), flush=True)\n"
        "time.sleep(600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            pids = [int(p) for p in server.stdout.readline().split()]
            assert len(pids) == 2 and all(_alive(p) for p in pids)
        finally:
            server.kill()
            server.wait(timeout=10)
    wait_for(lambda: not any(_alive(p) for p in pids), timeout=10, what="the workers to be gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone, only not yet collected by its parent
        return stat.read().split()[2] != "Z"
