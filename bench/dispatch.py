"""Dispatch benchmark: jobgate's database-backed scheduler on SQLite and PostgreSQL beside a bare APScheduler 3.11.

What it measures (issue 3, "Benchmark"), each in a fresh subprocess of this script (``--scenario``), so memory and
start-up figures belong to a process that did nothing else and no threads leak from one measurement into the next:

1. **Dispatch lag** with 10,000 active schedules: 1,000 of them (half ``future`` one-offs, half ``hourly``) come due at
   seeded random instants in a 20 s window, the other 9,000 between 1 h and 25 h later. jobgate runs the real
   ``bot.background.Background`` (dispatch loop, runner loop, reaper; default ``Timings``: 5 s poll, 8 workers) on a
   no-op job. Lag = ``job_results.started_at - scheduled_for`` (due time to ``running``). Shown beside it: due→created
   (``created_at`` is the dispatch pass's ``now``) and due→``run()`` called (the no-op job appends its start time to a
   class-level list that this process reads, exactly as the APScheduler job function does; jobgate stamps
   ``started_at`` and ``created_at`` before its write transaction takes the lock, so ``run()`` is the honest
   comparison with APScheduler). For APScheduler the same due times go to a ``BackgroundScheduler`` (memory job
   store, ``ThreadPoolExecutor(8)`` like jobgate's 8 workers, ``misfire_grace_time=None`` so nothing is dropped,
   ``coalesce=False``); lag = the moment the job function starts minus its due time.
2. **Burst**: 10,000 one-off jobs due at the same instant T. Figures: T → all 10,000 job results exist (the dispatch
   loop's ``on_dispatched`` hook, wrapped here to take a timestamp, fires once after the last batch committed), T →
   all are ``running`` (``max(started_at)``), T → the last ``run()`` began, and how many were started within 1 s.
   APScheduler: T → all submitted to the pool (``EVENT_JOB_SUBMITTED``) and T → all job functions started.
3. **100,000 schedules**: the cost of one dispatch pass (``Dispatcher.dispatch_all_due`` plus the loop's
   ``earliest_due``) with 0, 10, 100 and 1,000 due rows, at 10,000 and at 100,000 scheduled jobs (due rows are made
   due by setting ``next_run_at`` just before now; median of several repeats); the query plans of the two dispatcher
   queries on the 100,000-row table; then, in a fresh process on that database, the start-up time (constructing and
   starting ``Background`` until the dispatch loop's first round, ``dispatch_all_due`` then ``earliest_due``, has
   completed: the loop's ``earliest_due`` is wrapped to take a timestamp; also process exec → ready, which includes
   imports, migrations check and job sync) and resident memory (``VmRSS``/``VmHWM`` from ``/proc/self/status``).
   APScheduler: a fresh process adds 100,000 jobs (the same mix) to a stopped scheduler, starts it, and reports times
   and RSS.

Rows are written in bulk with SQLAlchemy Core (a benchmark may write rows directly) with the values
``Services.request_job`` would store: ``approval_state`` ``not_required``, enabled, ``next_run_at`` set, interval
``future``/``hourly``, ``time_zone`` UTC, the job row of a no-op job discovered from a temporary jobs folder and enabled
through ``Services``.

Run it (about 3.5 minutes on 2 cores; ``--quick`` is a smoke run with smaller sizes, about 75 s)::

    .venv/bin/python bench/dispatch.py [--quick] [--postgres-admin-url URL] [--no-postgres] [--workers N]
                                       [--json FILE]

``--workers`` sets jobgate's ``Timings.workers`` and APScheduler's pool size together (default 8); ``--json`` also
writes every figure to a file. The wrapped hooks above only append a timestamp and call the original; nothing of
jobgate's is replaced or patched in behaviour.

PostgreSQL: the admin URL (default ``$JOBGATE_BENCH_POSTGRES`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) is used only to create and, at the end, drop the database
``jobgate_bench``; every measurement runs in that database. SQLite files live in a temporary folder that is removed
at the end. Progress goes to stderr, the table of figures to stdout. The table ends with the CPU other processes
used during each measurement (from ``/proc/stat`` minus this script's children): tail latencies on a shared machine
are only as quiet as that.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import make_url

from bot.app import Core, build_core
from bot.background import Background, Timings
from bot.config import Settings
from bot.scheduler import Dispatcher
from bot.services import utcnow
from storage.models import JobResult, ScheduledJob
from storage.repositories import Repositories

BENCH_DATABASE = "jobgate_bench"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOOP_MODULE = "benchnoop"
NOOP_SLUG = f"{NOOP_MODULE}.Noop"
NOOP_SOURCE = '''"""A job that only notes when it started (the benchmark measures the machinery, not the job)."""

import time

from bot.jobs import Job


class Noop(Job):
    started = []  # (job result id, epoch seconds) of every run: the benchmark reads it in its own process

    class Meta:
        name = "Bench no-op"
        description = "Does nothing"
        has_sensitive_variables = False

    def run(self, data, commit):
        Noop.started.append((self.job_result_id, time.time()))
'''
USER_ID = "UBENCH01"
SEED = 20261126
DEFAULT_WORKERS = Timings().workers  # jobgate's default (8); APScheduler gets the same pool size

# Targets from issue 3 and the Nautobot reference.
TARGET_LAG_P99_MS = 50.0
TARGET_BURST_S = 1.0
TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 300.0
NAUTOBOT_LAG_MEDIAN_MS = 680.0


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is."""

    lag_total: int
    lag_due: int
    lag_window_s: float
    burst: int
    small_total: int
    big_total: int
    due_counts: tuple[int, ...]
    repeats: int
    lead_s: float
    burst_timeout_s: float


FULL = Sizes(lag_total=10_000, lag_due=1_000, lag_window_s=20.0, burst=10_000, small_total=10_000,
             big_total=100_000, due_counts=(0, 10, 100, 1_000), repeats=5, lead_s=5.0, burst_timeout_s=240.0)
QUICK = Sizes(lag_total=2_000, lag_due=200, lag_window_s=5.0, burst=2_000, small_total=2_000,
              big_total=20_000, due_counts=(0, 10, 100, 1_000), repeats=3, lead_s=4.0, burst_timeout_s=90.0)


# ------------------------------------------------------------------------------------------------------------ helpers


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def proc_status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def sleep_until(epoch: float) -> None:
    delay = epoch - time.time()
    if delay > 0:
        time.sleep(delay)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def due_offsets(count: int, window_s: float) -> list[float]:
    """Seeded random offsets in [0, window_s): the same due times for jobgate and APScheduler."""
    rng = random.Random(SEED)
    return sorted(rng.uniform(0, window_s) for _ in range(count))


def later_offsets(count: int) -> list[float]:
    """Offsets between 1 h and 25 h: schedules that are active but not due during a run."""
    rng = random.Random(SEED + 1)
    return [rng.uniform(3_600, 90_000) for _ in range(count)]


def interval_for(index: int) -> str:
    return "future" if index % 2 == 0 else "hourly"


# ---------------------------------------------------------------------------------------------------------- jobgate


def reset_postgres_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def open_jobgate(url: str, jobs_dir: Path, *, fresh: bool) -> tuple[Core, str, str]:
    """The real core (migrated, jobs synced, the no-op job enabled); returns them, its job id and name."""
    if fresh and url.startswith("postgresql"):
        reset_postgres_schema(url)
    settings = Settings(database_url=url, jobs_paths=(jobs_dir,), time_zone="UTC")
    core = build_core(settings)
    outcome = core.services.management.sync_jobs()
    if outcome.errors:
        raise RuntimeError(f"the no-op job did not load: {outcome.errors}")
    job = core.services.management.set_job_enabled(NOOP_SLUG, True)
    return core, job.id, job.name


def scheduled_job_rows(
    job_id: str, due: Sequence[datetime], *, first_index: int = 0, interval: str | None = None
) -> list[dict[str, Any]]:
    """Column values of active scheduled jobs, as ``Core.request_job`` stores them (no approval needed).

    The interval alternates ``future``/``hourly`` unless one is given; each starts at (and is next due at) its time.
    """
    now = utcnow()
    rows = []
    for i, when in enumerate(due, start=first_index):
        kind = interval or interval_for(i)
        rows.append({
            "id": str(uuid.uuid4()), "name": f"bench {kind} {i}", "job_id": job_id, "user_id": USER_ID,
            "interval": kind, "start_time": when, "crontab": None, "time_zone": "UTC", "data": {},
            "commit": True, "approval_required": False, "approval_state": "not_required", "decided_by_id": None,
            "decided_at": None, "decision_reason": None, "enabled": True, "paused": False, "end_reason": None,
            "ended_at": None, "ended_by_id": None, "next_run_at": when, "last_slot_at": None, "last_run_at": None,
            "total_run_count": 0, "misfire_policy": "run_once", "version": 0, "created_at": now, "updated_at": now,
        })
    return rows


def bulk_insert(core: Core, rows: Sequence[dict[str, Any]], chunk: int = 5_000) -> float:
    """Insert scheduled jobs in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    with core.db.engine.begin() as connection:
        for i in range(0, len(rows), chunk):
            connection.execute(insert(ScheduledJob), rows[i:i + chunk])
    return time.perf_counter() - started


def started_count(core: Core, until: datetime | None = None) -> int:
    with core.db.read() as session:
        query = select(func.count()).select_from(JobResult).where(JobResult.started_at.is_not(None))
        if until is not None:
            query = query.where(JobResult.scheduled_for <= until)
        return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class ResultRow:
    id: str
    scheduled_job_id: str | None
    scheduled_for: datetime
    created_at: datetime
    started_at: datetime | None


def result_rows(core: Core) -> list[ResultRow]:
    """Every job result of a scheduled job."""
    with core.db.read() as session:
        found = session.execute(
            select(JobResult.id, JobResult.scheduled_job_id, JobResult.scheduled_for, JobResult.created_at,
                   JobResult.started_at).where(JobResult.scheduled_for.is_not(None))
        ).all()
    return [ResultRow(r[0], r[1], r[2], r[3], r[4]) for r in found if r[2] is not None]


def noop_starts(core: Core) -> list[tuple[str, float]]:
    """The no-op job's own record of when each run's ``run`` began (the class the runner instantiates)."""
    found = core.catalog.get(NOOP_SLUG)
    assert found is not None
    started: list[tuple[str, float]] = found.job_class.started  # type: ignore[attr-defined]
    return started


def ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def lag_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    t0 = time.time() + sizes.lead_s
    due = [at(t0 + o) for o in due_offsets(sizes.lag_due, sizes.lag_window_s)]
    later = [at(t0 + o) for o in later_offsets(sizes.lag_total - sizes.lag_due)]
    insert_s = bulk_insert(core, scheduled_job_rows(job_id, due) + scheduled_job_rows(job_id, later,
                                                                                             first_index=len(due)))
    background = Background(core, timings=Timings(workers=args.workers))
    background.start()
    ready_margin = t0 - time.time()
    end = at(t0 + sizes.lag_window_s)
    sleep_until(t0 + sizes.lag_window_s + 0.5)
    done = wait_until(lambda: started_count(core, end) >= sizes.lag_due, timeout=60, interval=0.25)
    background.stop()
    rows = [r for r in result_rows(core) if r.scheduled_for <= end]
    ran = dict(noop_starts(core))
    core.db.dispose()
    started = [ms(r.started_at - r.scheduled_for) for r in rows if r.started_at is not None]
    created = [ms(r.created_at - r.scheduled_for) for r in rows]
    function = [(ran[r.id] - r.scheduled_for.timestamp()) * 1000 for r in rows if r.id in ran]
    slots = {(r.scheduled_job_id, r.scheduled_for) for r in rows}
    return {
        "expected": sizes.lag_due, "results": len(rows), "started": len(started), "duplicates": len(rows) - len(slots),
        "complete": done, "insert_s": insert_s, "ready_margin_s": ready_margin,
        "p50_ms": percentile(started, 50), "p99_ms": percentile(started, 99), "max_ms": max(started, default=0.0),
        "created_p50_ms": percentile(created, 50), "created_p99_ms": percentile(created, 99),
        "function_p50_ms": percentile(function, 50), "function_p99_ms": percentile(function, 99),
        "function_max_ms": max(function, default=0.0),
    }


def burst_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    t0 = time.time() + sizes.lead_s
    due = at(t0)
    insert_s = bulk_insert(core, scheduled_job_rows(job_id, [due] * sizes.burst, interval="future"))
    background = Background(core, timings=Timings(workers=args.workers))
    loop = background.dispatch_loop
    assert loop is not None and loop.on_dispatched is not None
    dispatched: list[float] = []
    forward = loop.on_dispatched

    def mark_dispatched() -> None:  # instrumentation only: a timestamp, then the real wake-up of the runner
        dispatched.append(time.time())
        forward()

    loop.on_dispatched = mark_dispatched
    background.start()
    ready_margin = t0 - time.time()
    sleep_until(t0)
    done = wait_until(lambda: started_count(core) >= sizes.burst, timeout=sizes.burst_timeout_s, interval=0.25)
    background.stop()
    results = result_rows(core)
    ran = sorted(epoch - t0 for _, epoch in noop_starts(core))
    core.db.dispose()
    started = sorted((r.started_at - due).total_seconds() for r in results if r.started_at is not None)
    created = [(r.created_at - due).total_seconds() for r in results]
    return {
        "expected": sizes.burst, "results": len(results), "started": len(started), "complete": done,
        "insert_s": insert_s, "ready_margin_s": ready_margin,
        "all_exist_s": (max(dispatched) - t0) if dispatched and len(results) >= sizes.burst else None,
        "last_created_now_s": max(created, default=None),
        "all_started_s": started[-1] if started and len(started) >= sizes.burst else None,
        "all_functions_s": ran[-1] if len(ran) >= sizes.burst else None,
        "first_started_s": started[0] if started else None,
        "started_within_1s": sum(1 for s in started if s <= 1.0),
        "started_p50_s": percentile(started, 50),
        "rate_per_s": (len(started) - 1) / (started[-1] - started[0]) if len(started) > 1 and started[-1] > started[0]
        else None,
    }


def capture_sql(core: Core, action: Callable[[Repositories], object]) -> list[tuple[str, Any]]:
    """The SELECT statements (with parameters) an action of the repositories sends, in order."""
    captured: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the BEGIN IMMEDIATE of SQLite's write transaction
            captured.append((statement, parameters))

    event.listen(core.db.engine, "before_cursor_execute", before)
    try:
        with core.db.write() as session:
            action(Repositories(session))
    finally:
        event.remove(core.db.engine, "before_cursor_execute", before)
    return captured


def query_plans(core: Core) -> dict[str, list[str]]:
    """The plans of the dispatcher's two queries (lock the due rows; the earliest due time) as they are sent."""
    now = utcnow()
    plans: dict[str, list[str]] = {}
    statements = {
        "lock_due": capture_sql(core, lambda r: r.scheduled_jobs.lock_due(now, limit=500))[0],
        "earliest_due": capture_sql(core, lambda r: r.scheduled_jobs.earliest_due())[0],
    }
    for name, (statement, parameters) in statements.items():
        with core.db.engine.connect() as connection:
            if core.db.is_sqlite:
                found = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                plans[name] = [str(row[-1]) for row in found]
            else:
                found = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", parameters).all()
                plans[name] = [str(row[0]) for row in found]
            connection.rollback()
    return plans


def passes_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    dispatcher = Dispatcher(core.db, grace=core.settings.misfire_grace, clock=utcnow)
    rng = random.Random(SEED + 2)
    base = time.time()
    offsets = later_offsets(sizes.big_total)
    hourly: list[str] = []
    inserted = 0
    figures: dict[str, Any] = {"totals": {}}
    for total in (sizes.small_total, sizes.big_total):
        rows = scheduled_job_rows(job_id, [at(base + o) for o in offsets[inserted:total]], first_index=inserted)
        bulk_insert(core, rows)
        hourly.extend(r["id"] for r in rows if r["interval"] == "hourly")
        inserted = total
        per_count: dict[str, Any] = {}
        for count in sizes.due_counts:
            dispatch_s: list[float] = []
            earliest_s: list[float] = []
            for _ in range(sizes.repeats):
                chosen = rng.sample(hourly, count)
                due_at = utcnow() - timedelta(milliseconds=1)
                with core.db.write() as session:
                    for i in range(0, len(chosen), 500):
                        session.execute(update(ScheduledJob).where(ScheduledJob.id.in_(chosen[i:i + 500]))
                                        .values(next_run_at=due_at).execution_options(synchronize_session=False))
                started = time.perf_counter()
                report = dispatcher.dispatch_all_due()
                middle = time.perf_counter()
                dispatcher.earliest_due()
                ended = time.perf_counter()
                if report.created != count:
                    raise RuntimeError(f"expected {count} job results, the pass created {report.created}")
                dispatch_s.append(middle - started)
                earliest_s.append(ended - middle)
            per_count[str(count)] = {"dispatch_ms": statistics.median(dispatch_s) * 1000,
                                     "earliest_ms": statistics.median(earliest_s) * 1000}
        figures["totals"][str(total)] = per_count
    figures["plans"] = query_plans(core)
    # The runs created here are history now: the start-up measurement on this database must not run them.
    now = utcnow()
    with core.db.write() as session:
        session.execute(update(JobResult).where(JobResult.status == "pending")
                        .values(status="completed", started_at=now, completed_at=now)
                        .execution_options(synchronize_session=False))
    core.db.dispose()
    return figures


def startup_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    core, _, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=False)
    with core.db.read() as session:
        active = int(session.scalar(select(func.count()).select_from(ScheduledJob).where(
            ScheduledJob.enabled, ScheduledJob.next_run_at.is_not(None))) or 0)
    rss_before = proc_status_mb("VmRSS")
    started = time.perf_counter()
    background = Background(core, timings=Timings(workers=args.workers))
    loop = background.dispatch_loop
    assert loop is not None
    rounds: list[float] = []
    earliest_due = loop.dispatcher.earliest_due

    def timed_earliest_due() -> datetime | None:  # instrumentation only: the last query of the loop's round
        found = earliest_due()
        rounds.append(time.perf_counter())
        return found

    loop.dispatcher.earliest_due = timed_earliest_due  # type: ignore[method-assign]
    background.start()
    wait_until(lambda: bool(rounds), timeout=60, interval=0.001)
    startup_s = rounds[0] - started
    ready_epoch = time.time() - (time.perf_counter() - rounds[0])
    rss = proc_status_mb("VmRSS")
    hwm = proc_status_mb("VmHWM")
    background.stop()
    core.db.dispose()
    return {"active": active, "startup_s": startup_s, "exec_to_ready_s": ready_epoch - args.spawned_at,
            "rss_before_mb": rss_before, "rss_mb": rss, "hwm_mb": hwm}


# -------------------------------------------------------------------------------------------------------- APScheduler


def aps_scheduler(workers: int) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1},
        timezone=UTC,
    )


def aps_add(scheduler: Any, due: Sequence[float], starts: list[tuple[float, float]], *, first_index: int = 0,
            intervals: bool = True) -> None:
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    def noop(due_epoch: float) -> None:
        starts.append((due_epoch, time.time()))

    for i, epoch in enumerate(due, start=first_index):
        when = at(epoch)
        trigger: Any = (IntervalTrigger(hours=1, start_date=when, timezone=UTC)
                        if intervals and interval_for(i) == "hourly" else DateTrigger(run_date=when, timezone=UTC))
        scheduler.add_job(noop, trigger, args=(epoch,), id=str(i), name=f"bench {i}")


def lag_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    starts: list[tuple[float, float]] = []
    scheduler = aps_scheduler(args.workers)
    t0 = time.time() + sizes.lead_s
    due = [t0 + o for o in due_offsets(sizes.lag_due, sizes.lag_window_s)]
    aps_add(scheduler, due, starts)
    aps_add(scheduler, [t0 + o for o in later_offsets(sizes.lag_total - sizes.lag_due)], starts,
            first_index=len(due))
    scheduler.start()
    ready_margin = t0 - time.time()
    sleep_until(t0 + sizes.lag_window_s + 0.5)
    done = wait_until(lambda: len(starts) >= sizes.lag_due, timeout=60, interval=0.05)
    scheduler.shutdown(wait=True)
    lags = [(started - due_epoch) * 1000 for due_epoch, started in starts]
    return {"expected": sizes.lag_due, "results": len(starts), "started": len(starts), "duplicates": 0,
            "complete": done, "ready_margin_s": ready_margin, "p50_ms": percentile(lags, 50),
            "p99_ms": percentile(lags, 99), "max_ms": max(lags, default=0.0),
            "function_p50_ms": percentile(lags, 50), "function_p99_ms": percentile(lags, 99),
            "function_max_ms": max(lags, default=0.0)}


def burst_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    from apscheduler.events import EVENT_JOB_SUBMITTED

    starts: list[tuple[float, float]] = []
    submitted: list[float] = []
    scheduler = aps_scheduler(args.workers)
    scheduler.add_listener(lambda _event: submitted.append(time.time()), EVENT_JOB_SUBMITTED)
    t0 = time.time() + sizes.lead_s
    aps_add(scheduler, [t0] * sizes.burst, starts, intervals=False)
    scheduler.start()
    ready_margin = t0 - time.time()
    sleep_until(t0)
    done = wait_until(lambda: len(starts) >= sizes.burst, timeout=sizes.burst_timeout_s, interval=0.01)
    scheduler.shutdown(wait=True)
    offsets = sorted(started - t0 for _, started in starts)
    return {
        "all_functions_s": offsets[-1] if len(offsets) >= sizes.burst else None,
        "expected": sizes.burst, "results": len(submitted), "started": len(starts), "complete": done,
        "ready_margin_s": ready_margin,
        "all_exist_s": (max(submitted) - t0) if len(submitted) >= sizes.burst else None,
        "all_started_s": offsets[-1] if len(offsets) >= sizes.burst else None,
        "first_started_s": offsets[0] if offsets else None,
        "started_within_1s": sum(1 for s in offsets if s <= 1.0),
        "started_p50_s": percentile(offsets, 50),
        "rate_per_s": (len(offsets) - 1) / (offsets[-1] - offsets[0]) if len(offsets) > 1 and offsets[-1] > offsets[0]
        else None,
    }


def startup_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    starts: list[tuple[float, float]] = []
    rss_before = proc_status_mb("VmRSS")
    base = time.time()
    started = time.perf_counter()
    scheduler = aps_scheduler(args.workers)
    aps_add(scheduler, [base + o for o in later_offsets(sizes.big_total)], starts)
    added = time.perf_counter()
    scheduler.start()
    running = time.perf_counter()
    ready_epoch = time.time()
    rss = proc_status_mb("VmRSS")
    hwm = proc_status_mb("VmHWM")
    jobs = len(scheduler.get_jobs())
    scheduler.shutdown(wait=False)
    return {"active": jobs, "add_s": added - started, "start_s": running - added, "startup_s": running - started,
            "exec_to_ready_s": ready_epoch - args.spawned_at, "rss_before_mb": rss_before, "rss_mb": rss,
            "hwm_mb": hwm}


SCENARIOS: dict[tuple[str, str], Callable[[argparse.Namespace, Sizes], dict[str, Any]]] = {
    ("lag", "jobgate"): lag_jobgate,
    ("lag", "apscheduler"): lag_aps,
    ("burst", "jobgate"): burst_jobgate,
    ("burst", "apscheduler"): burst_aps,
    ("passes", "jobgate"): passes_jobgate,
    ("startup", "jobgate"): startup_jobgate,
    ("startup", "apscheduler"): startup_aps,
}


def run_scenario(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="  [child] %(levelname)s %(name)s: %(message)s")
    sizes = QUICK if args.quick else FULL
    kind = "apscheduler" if args.backend == "apscheduler" else "jobgate"
    figures = SCENARIOS[(args.scenario, kind)](args, sizes)
    Path(args.result).write_text(json.dumps(figures))
    return 0


# ------------------------------------------------------------------------------------------------------------ parent


@dataclass
class Run:
    """Where the children work and how to reach the databases."""

    workdir: Path
    quick: bool
    workers: int
    postgres_url: str | None
    postgres_skipped: str | None
    outside_load: dict[str, tuple[float, float]] = field(default_factory=dict)


@contextmanager
def bench_environment(admin_url: str | None, quick: bool, workers: int) -> Iterator[Run]:
    workdir = Path(tempfile.mkdtemp(prefix="jobgate-bench-"))
    (workdir / "jobs").mkdir()
    (workdir / "jobs" / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE)
    postgres_url: str | None = None
    skipped: str | None = "--no-postgres" if admin_url is None else None
    admin = None
    if admin_url is not None:
        admin_parsed = make_url(admin_url)
        if admin_parsed.database == BENCH_DATABASE or BENCH_DATABASE == "test":
            raise SystemExit("the admin URL must name another database than the benchmark's own")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
            postgres_url = admin_parsed.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
        except Exception as exc:  # no PostgreSQL here: SQLite and APScheduler still run
            skipped = f"PostgreSQL not reachable ({type(exc).__name__})"
            admin.dispose()
            admin = None
    try:
        yield Run(workdir=workdir, quick=quick, workers=workers, postgres_url=postgres_url, postgres_skipped=skipped)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
            admin.dispose()


def machine_busy_s() -> float:
    """CPU seconds every core of this machine has spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(run: Run, scenario: str, backend: str, url: str = "") -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its figures."""
    result = run.workdir / f"{scenario}-{backend}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--backend", backend,
               "--workdir", str(run.workdir), "--url", url, "--result", str(result),
               "--workers", str(run.workers), "--spawned-at", repr(time.time())]
    if run.quick:
        command.append("--quick")
    print(f"- {scenario} on {backend} ...", file=sys.stderr, flush=True)
    busy, own = machine_busy_s(), children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    elapsed = time.perf_counter() - started
    others = max(0.0, (machine_busy_s() - busy) - (children_cpu_s() - own))
    run.outside_load[f"{scenario} {backend}"] = (others / elapsed, elapsed)
    if completed.returncode != 0 or not result.is_file():
        print(f"  failed with exit status {completed.returncode}", file=sys.stderr, flush=True)
        return {"error": f"exit status {completed.returncode}"}
    print(f"  done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    figures: dict[str, Any] = json.loads(result.read_text())
    return figures


def backends(run: Run, database: str) -> list[tuple[str, str, str]]:
    """(label, backend, URL) of each database; on SQLite a file per scenario (``database``), shared when named so."""
    found = [("SQLite", "sqlite", f"sqlite:///{run.workdir / f'{database}.db'}")]
    if run.postgres_url:
        found.append(("PostgreSQL", "postgresql", run.postgres_url))
    return found


def measure(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {"lag": {}, "burst": {}, "passes": {}, "startup": {}}
    for name, backend, url in backends(run, "lag"):
        out["lag"][name] = child(run, "lag", backend, url)
    out["lag"]["APScheduler"] = child(run, "lag", "apscheduler")
    for name, backend, url in backends(run, "burst"):
        out["burst"][name] = child(run, "burst", backend, url)
    out["burst"]["APScheduler"] = child(run, "burst", "apscheduler")
    for name, backend, url in backends(run, "large"):
        out["passes"][name] = child(run, "passes", backend, url)  # leaves the large database for start-up
        out["startup"][name] = child(run, "startup", backend, url)
    out["startup"]["APScheduler"] = child(run, "startup", "apscheduler")
    return out


def fmt(value: Any, spec: str = ".1f", missing: str = "-") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return missing
    return format(value, spec)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


def report(run: Run, figures: dict[str, Any], elapsed: float) -> list[str]:
    sizes = QUICK if run.quick else FULL
    import apscheduler
    import sqlalchemy

    lines: list[str] = []
    add = lines.append
    add(f"jobgate dispatch benchmark ({'QUICK sizes: a smoke run' if run.quick else 'full sizes'}), "
        f"{time.strftime('%Y-%m-%d %H:%M')}")
    add(f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"APScheduler {apscheduler.__version__}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    add(f"jobgate: Background with default Timings (poll 5 s) and {run.workers} workers; APScheduler: memory store, "
        f"ThreadPoolExecutor({run.workers}), misfire_grace_time=None, coalesce=False")
    if run.postgres_skipped:
        add(f"PostgreSQL skipped: {run.postgres_skipped}")
    else:
        admin = create_engine(str(run.postgres_url))
        with admin.connect() as connection:
            add(f"PostgreSQL {connection.scalar(text('SHOW server_version'))}")
        admin.dispose()
    add("")

    add(f"1. Dispatch lag, due time -> running: {sizes.lag_total:,} active schedules, {sizes.lag_due:,} due at "
        f"random in a {sizes.lag_window_s:g} s window")
    add(f"   {'':<41}{'due -> running (started_at)':^27}{'due -> created':>18}{'due -> run() called':>23}")
    add(f"   {'system':<24}{'ran/due':>12}{'dup':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'p50/p99 ms':>18}{'p50/p99/max ms':>23}   target p99 <= {TARGET_LAG_P99_MS:g} ms")
    lag_ok: dict[str, bool | None] = {}
    for name, f in figures["lag"].items():
        label = "APScheduler 3.11 memory" if name == "APScheduler" else f"jobgate {name}"
        if "error" in f:
            add(f"   {label:<24}{f['error']}")
            lag_ok[name] = None
            continue
        created = ("" if name == "APScheduler"
                   else f"{fmt(f.get('created_p50_ms'))} / {fmt(f.get('created_p99_ms'))}")
        function = (f"{fmt(f.get('function_p50_ms'))} / {fmt(f.get('function_p99_ms'))} / "
                    f"{fmt(f.get('function_max_ms'))}")
        ok = f["started"] >= f["expected"] and f["p99_ms"] <= TARGET_LAG_P99_MS
        lag_ok[name] = ok
        add(f"   {label:<24}{f['started']:>6,}/{f['expected']:<5,}{f['duplicates']:>5}{fmt(f['p50_ms']):>9}"
            f"{fmt(f['p99_ms']):>9}{fmt(f['max_ms']):>9}{created:>18}{function:>23}   {verdict(ok)}")
    add("   started_at and created_at are stamped by jobgate before its write transaction takes the lock; run() "
        "called is")
    add("   when the no-op job's run() began (for APScheduler every column is the job function's start)")
    add(f"   reference: Nautobot 1.6 + Celery beat, same kind of machine: median {NAUTOBOT_LAG_MEDIAN_MS:g} ms")
    add("")

    add(f"2. Burst: {sizes.burst:,} one-off jobs due at the same instant T (seconds after T)")
    add(f"   {'system':<24}{'all exist':>10}{'first run':>10}{'p50 run':>9}{'all run':>9}{'all run()':>10}"
        f"{'run <= 1 s':>11}{'runs/s':>8}   target (SQLite): all running <= {TARGET_BURST_S:g} s")
    burst_ok: dict[str, bool | None] = {}
    for name, f in figures["burst"].items():
        label = "APScheduler 3.11 memory" if name == "APScheduler" else f"jobgate {name}"
        if "error" in f:
            add(f"   {label:<24}{f['error']}")
            continue
        all_run = f.get("all_started_s")
        ok = all_run is not None and all_run <= TARGET_BURST_S
        burst_ok[name] = ok
        mark = verdict(ok) if name == "SQLite" else ("(" + verdict(ok).lower() + ")")
        suffix = "" if f["complete"] else f"  (timed out: {f['started']:,} running)"
        add(f"   {label:<24}{fmt(f.get('all_exist_s'), '.2f'):>10}{fmt(f.get('first_started_s'), '.3f'):>10}"
            f"{fmt(f.get('started_p50_s'), '.2f'):>9}{fmt(all_run, '.2f'):>9}{fmt(f.get('all_functions_s'), '.2f'):>10}"
            f"{f['started_within_1s']:>11,}{fmt(f.get('rate_per_s'), ',.0f'):>8}   {mark}{suffix}")
    add("   all exist: jobgate, the dispatch loop's callback after the last batch committed; APScheduler, the last "
        "EVENT_JOB_SUBMITTED;")
    add("   run = started_at (running); all run() = the last no-op run() began; runs/s = started between the first "
        "and the last")
    add("")

    totals = [str(sizes.small_total), str(sizes.big_total)]
    add("3a. One dispatch pass (dispatch_all_due + earliest_due), median ms, by due rows among all scheduled jobs")
    add(f"   {'system':<12}{'scheduled':>10}" + "".join(f"{'due ' + format(c, ','):>18}" for c in sizes.due_counts))
    for name, f in figures["passes"].items():
        if "error" in f:
            add(f"   {name:<12}{f['error']}")
            continue
        for total in totals:
            cells = []
            for c in sizes.due_counts:
                cell = f["totals"][total][str(c)]
                cells.append(f"{cell['dispatch_ms']:.1f} + {cell['earliest_ms']:.1f}")
            add(f"   {name:<12}{int(total):>10,}" + "".join(f"{c:>18}" for c in cells))
    add("   (first figure: dispatch_all_due, which locks the due rows, plans, inserts the results and advances them; "
        "second: earliest_due)")
    add("   Query plans on the large table:")
    for name, f in figures["passes"].items():
        for query, plan in f.get("plans", {}).items():
            add(f"   {name} {query}:")
            lines.extend(f"      {step}" for step in plan)
    add("")

    add(f"3b. Start-up and memory with {sizes.big_total:,} scheduled jobs (fresh process)")
    add(f"   {'system':<24}{'active':>9}{'start s':>9}{'exec->ready s':>15}{'RSS MB':>8}{'peak MB':>9}"
        f"{'RSS before MB':>15}   targets: start <= {TARGET_STARTUP_S:g} s, RSS <= {TARGET_RSS_MB:g} MB")
    startup_ok: dict[str, tuple[bool, bool] | None] = {}
    for name, f in figures["startup"].items():
        label = "APScheduler 3.11 memory" if name == "APScheduler" else f"jobgate {name}"
        if "error" in f:
            add(f"   {label:<24}{f['error']}")
            startup_ok[name] = None
            continue
        ok = (f["startup_s"] <= TARGET_STARTUP_S, f["rss_mb"] <= TARGET_RSS_MB)
        startup_ok[name] = ok
        add(f"   {label:<24}{f['active']:>9,}{fmt(f['startup_s'], '.3f'):>9}{fmt(f['exec_to_ready_s'], '.2f'):>15}"
            f"{fmt(f['rss_mb']):>8}{fmt(f['hwm_mb']):>9}{fmt(f['rss_before_mb']):>15}   "
            f"start {verdict(ok[0])}, RSS {verdict(ok[1])}")
    aps = figures["startup"].get("APScheduler", {})
    if "add_s" in aps:
        add(f"   APScheduler: add {sizes.big_total:,} jobs {aps['add_s']:.2f} s + start() {aps['start_s']:.2f} s")
    add("   start: jobgate, Background() + start() until the dispatch loop's first round (dispatch_all_due + "
        "earliest_due) completed;")
    add("          APScheduler, constructing the scheduler, adding every job and start()")
    add("   exec->ready: from spawning the process (imports, opening the database, migrations check, job sync) "
        "to that point")
    add("")
    lines.extend(summary(figures, sizes))
    add("")
    add("Outside load: average cores kept busy by other processes during each measurement (this machine is shared;")
    add("on PostgreSQL this includes the database server working for the benchmark). Tail latencies are only as")
    add("quiet as this:")
    loads = run.outside_load.items()
    add("   " + "; ".join(f"{name} {cores:.2f} ({seconds:.0f} s)" for name, (cores, seconds) in loads))
    add("")
    add(f"Done in {elapsed:.0f} s.")
    return lines


def summary(figures: dict[str, Any], sizes: Sizes) -> list[str]:
    """One line per target: each system's figure and whether jobgate meets it."""
    lines = ["Targets (issue 3) and references"]

    def each(section: str, figure: Callable[[dict[str, Any]], str]) -> str:
        cells = []
        for name, f in figures[section].items():
            cells.append(f"{name} {'error' if 'error' in f else figure(f)}")
        return "; ".join(cells)

    def passed(section: str, names: Sequence[str], test: Callable[[dict[str, Any]], bool]) -> str:
        found = [figures[section].get(n, {}) for n in names]
        usable = [f for f in found if f and "error" not in f]
        if not usable:
            return "n/a"
        return "MET" if all(test(f) for f in usable) else "MISSED"

    jobgate = ["SQLite", "PostgreSQL"]
    lines.append(f"   lag p99 <= {TARGET_LAG_P99_MS:g} ms at {sizes.lag_total:,} schedules: "
                 + passed("lag", jobgate, lambda f: f["started"] >= f["expected"] and f["p99_ms"] <= TARGET_LAG_P99_MS)
                 + " -- " + each("lag", lambda f: f"p50 {f['p50_ms']:.1f} / p99 {f['p99_ms']:.1f} ms"))
    lines.append(f"   Nautobot 1.6 + Celery beat lag median {NAUTOBOT_LAG_MEDIAN_MS:g} ms -- jobgate medians: "
                 + "; ".join(f"{n} {figures['lag'][n]['p50_ms']:.1f} ms" for n in jobgate
                             if n in figures["lag"] and "error" not in figures["lag"][n]))
    lines.append(f"   {sizes.burst:,} burst all running <= {TARGET_BURST_S:g} s on SQLite: "
                 + passed("burst", ["SQLite"], lambda f: (f.get("all_started_s") or 1e9) <= TARGET_BURST_S)
                 + " -- " + each("burst", lambda f: f"all running {fmt(f.get('all_started_s'), '.2f')} s, "
                                                    f"all exist {fmt(f.get('all_exist_s'), '.2f')} s"))
    lines.append(f"   start-up <= {TARGET_STARTUP_S:g} s with {sizes.big_total:,} schedules: "
                 + passed("startup", jobgate, lambda f: f["startup_s"] <= TARGET_STARTUP_S)
                 + " -- " + each("startup", lambda f: f"{f['startup_s']:.3f} s"))
    lines.append(f"   RSS <= {TARGET_RSS_MB:g} MB with {sizes.big_total:,} schedules: "
                 + passed("startup", jobgate, lambda f: f["rss_mb"] <= TARGET_RSS_MB)
                 + " -- " + each("startup", lambda f: f"{f['rss_mb']:.0f} MB"))

    def idle_pass(f: dict[str, Any], total: int) -> float:
        cell = f["totals"][str(total)]["0"]
        return float(cell["dispatch_ms"] + cell["earliest_ms"])

    growth = sizes.big_total / sizes.small_total

    def idle_growth(f: dict[str, Any]) -> str:
        small, big = idle_pass(f, sizes.small_total), idle_pass(f, sizes.big_total)
        return f"{small:.1f} -> {big:.1f} ms (x{big / small:.1f} for x{growth:g} rows)"

    lines.append(f"   pass cost independent of the total ({sizes.small_total:,} -> {sizes.big_total:,} schedules, "
                 f"0 due, within x2): "
                 + passed("passes", jobgate, lambda f: idle_pass(f, sizes.big_total)
                          <= 2 * max(idle_pass(f, sizes.small_total), 0.5))
                 + " -- " + each("passes", idle_growth))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("JOBGATE_BENCH_POSTGRES", DEFAULT_ADMIN_URL),
                        help="a PostgreSQL URL allowed to create and drop the database jobgate_bench")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite and APScheduler only")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    # Internal: one scenario in this (fresh) process.
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"jobgate's Timings.workers and APScheduler's pool size (default {DEFAULT_WORKERS})")
    args = parser.parse_args()
    if args.scenario:
        return run_scenario(args)

    started = time.perf_counter()
    admin_url = None if args.no_postgres else args.postgres_admin_url
    with bench_environment(admin_url, args.quick, args.workers) as run:
        figures = measure(run)
        lines = report(run, figures, time.perf_counter() - started)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "sizes": asdict(QUICK if args.quick else FULL),
                                         "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
