"""Helpers for the executors' tests: run orders for the test jobs, a collector that waits for reports, and a hold on
the job results table from another connection."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.executor.orders import RunOrder, RunReport, effective_time_limits
from bot.executor.pool import WorkerPool
from bot.registry import discover

# The Celery executor's end-to-end tests need a broker: they are collected only when the configuration names one
# (as the PostgreSQL variants need JOBGATE_TEST_DATABASE_URL). Named and unreachable, they fail.
collect_ignore = [] if os.environ.get("JOBGATE_TEST_BROKER_URL") else ["test_celery.py"]


class Reports:
    """Collects run reports (the pool's ``on_report``) and waits for them with a deadline."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.by_id: dict[str, RunReport] = {}
        self.duplicates: list[RunReport] = []

    def __call__(self, report: RunReport) -> None:
        with self._changed:
            if report.job_result_id in self.by_id:
                self.duplicates.append(report)
            self.by_id[report.job_result_id] = report
            self._changed.notify_all()

    def wait_for(self, job_result_id: str, timeout: float) -> RunReport:
        deadline = time.monotonic() + timeout
        with self._changed:
            while job_result_id not in self.by_id:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no report for {job_result_id} within {timeout} s")
                self._changed.wait(remaining)
            return self.by_id[job_result_id]


class Orders:
    """Run orders for the test jobs, with the limits their ``Meta`` declares (as the server computes them)."""

    def __init__(self, jobs_dir: Path, default_time_limit: timedelta = timedelta(seconds=60)) -> None:
        self.jobs = discover([jobs_dir], entry_points=False).jobs
        self.default = default_time_limit
        self.count = 0

    def __call__(self, slug: str, data: dict[str, Any] | None = None, *, user_id: str | None = "UALICE",
                 commit: bool = True) -> RunOrder:
        self.count += 1
        found = self.jobs.get(slug)
        soft, hard = effective_time_limits(
            soft_time_limit=found.info.soft_time_limit if found else None,
            time_limit=found.info.time_limit if found else None,
            default=self.default,
        )
        return RunOrder(
            job_result_id=f"result-{self.count}-{slug}",
            job_slug=slug,
            job_name=found.info.name if found else slug,
            data=data,
            commit=commit,
            user_id=user_id,
            has_sensitive_variables=found.info.has_sensitive_variables if found else True,
            soft_time_limit=soft,
            time_limit=hard,
        )


@contextlib.contextmanager
def job_results_held(url: str, *, reads_too: bool) -> Iterator[None]:
    """Another connection holds the job results table until the block ends: no other connection writes to it, and
    with ``reads_too`` (PostgreSQL) none reads it either.

    SQLite: the database's one write lock (``BEGIN IMMEDIATE``; ``BEGIN EXCLUSIVE`` with ``reads_too``); PostgreSQL: a
    ``SHARE`` lock on ``job_results`` (``ACCESS EXCLUSIVE`` with ``reads_too``). The server is shared, so it is never
    stopped.
    """
    if url.startswith("sqlite"):
        blocker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE" if reads_too else "BEGIN IMMEDIATE")
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.execute(f"LOCK TABLE job_results IN {'ACCESS EXCLUSIVE' if reads_too else 'SHARE'} MODE")
        yield
        connection.rollback()


@pytest.fixture
def orders(jobs_dir: Path) -> Orders:
    return Orders(jobs_dir)


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def pool_factory(jobs_dir: Path, reports: Reports) -> Iterator[Any]:
    """Starts worker pools over the test jobs (ready before the test goes on) and stops them afterwards."""
    pools: list[WorkerPool] = []

    def make(size: int = 2, **options: Any) -> WorkerPool:
        pool = WorkerPool(size=size, jobs_paths=(jobs_dir,), on_report=reports, entry_points=False, **options)
        pool.start()
        pools.append(pool)
        assert pool.wait_ready(timeout=30), "the workers did not start"
        return pool

    yield make
    for pool in pools:
        pool.stop(grace=0)
