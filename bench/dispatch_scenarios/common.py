"""What the dispatch scenarios share: sizes and targets, the no-op job, jobgate opened on a database and seeded
through the repositories, APScheduler set up the same way, and small timing helpers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bot.app import Core, build_core
from bot.config import Settings
from bot.domain.approvals import ApprovalState
from bot.domain.records import JobResultRecord, NewScheduledJob
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType, Schedule
from bot.services import utcnow
from storage.repositories import Repositories

NOOP_MODULE = "benchnoop"
NOOP_SLUG = f"{NOOP_MODULE}.Noop"
NOOP_SOURCE = '''"""A job that only says when it started (the benchmark measures the machinery, not the job)."""

import time

from bot.jobs import Job


class Noop(Job):
    class Meta:
        name = "Bench no-op"
        description = "Does nothing"
        has_sensitive_variables = False

    def run(self, data, commit):
        return repr(time.time())  # kept as the job result's output: when run() began, in epoch seconds
'''
USER_ID = "UBENCH01"
SEED = 20261126
DEFAULT_WORKERS = Settings().workers  # jobgate's default (one worker process per CPU); APScheduler gets as many threads

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

Figures = dict[str, Any]
Scenario = Callable[[Any, Sizes], Figures]
"""A scenario: the parsed command line (``url``, ``workdir``, ``workers``, ``spawned_at``) and the sizes → figures."""


# ------------------------------------------------------------------------------------------------------ helpers


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


def tree_memory_mb(pid: int | None = None) -> tuple[float, float, int]:
    """Resident memory of a process and all its descendants (jobgate's worker processes, their fork server):
    the sum of their RSS (shared pages counted in each), the sum of their PSS (shared pages split), and how many."""
    import os

    root = pid or os.getpid()
    seen: list[int] = []
    todo = [root]
    while todo:
        current = todo.pop()
        seen.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = task / "children"
            if children.exists():
                todo.extend(int(child) for child in children.read_text().split())
    rss = pss = 0.0
    for process in seen:
        try:
            for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
        except OSError:  # gone meanwhile
            continue
    return rss, pss, len(seen)


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


def ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def due_offsets(count: int, window_s: float) -> list[float]:
    """Seeded random offsets in [0, window_s): the same due times for jobgate and APScheduler."""
    rng = random.Random(SEED)
    return sorted(rng.uniform(0, window_s) for _ in range(count))


def later_offsets(count: int) -> list[float]:
    """Offsets between 1 h and 25 h: schedules that are active but not due during a run."""
    rng = random.Random(SEED + 1)
    return [rng.uniform(3_600, 90_000) for _ in range(count)]


def interval_for(index: int) -> IntervalType:
    return IntervalType.FUTURE if index % 2 == 0 else IntervalType.HOURLY


# ------------------------------------------------------------------------------------------------------ jobgate


def reset_postgres_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def open_jobgate(url: str, jobs_dir: Path, *, fresh: bool) -> tuple[Core, str, str]:
    """The real core (migrated, jobs synced, the no-op job enabled); returns it, the job's id and name."""
    if fresh and url.startswith("postgresql"):
        reset_postgres_schema(url)
    settings = Settings(database_url=url, jobs_paths=(jobs_dir,), time_zone="UTC")
    core = build_core(settings)
    outcome = core.services.management.sync_jobs()
    if outcome.errors:
        raise RuntimeError(f"the no-op job did not load: {outcome.errors}")
    job = core.services.management.set_job_enabled(NOOP_SLUG, True)
    return core, job.id, job.name


def new_scheduled_jobs(
    job_id: str, due: Sequence[datetime], *, first_index: int = 0, interval: IntervalType | None = None
) -> list[NewScheduledJob]:
    """Active scheduled jobs as ``request_job`` stores them (no approval needed).

    The interval alternates ``future``/``hourly`` unless one is given; each starts at (and is next due at) its time.
    """
    now = utcnow()
    new = []
    for i, when in enumerate(due, start=first_index):
        kind = interval or interval_for(i)
        name = f"bench {kind.value} {i}"
        new.append(NewScheduledJob(
            name=name, job_id=job_id, user_id=USER_ID,
            schedule=Schedule(interval=kind, start_time=when, time_zone="UTC", name=name),
            data={}, commit=True, approval_required=False, approval_state=ApprovalState.NOT_REQUIRED,
            next_run_at=when, created_at=now,
        ))
    return new


def add_scheduled_jobs(core: Core, new: Sequence[NewScheduledJob], chunk: int = 5_000) -> tuple[list[str], float]:
    """Store scheduled jobs in one transaction; returns their ids (in order) and the seconds it took."""
    started = time.perf_counter()
    ids: list[str] = []
    with core.db.write() as session:
        repos = Repositories(session)
        for i in range(0, len(new), chunk):
            ids.extend(repos.scheduled_jobs.add_many(new[i:i + chunk]))
    return ids, time.perf_counter() - started


NOT_RUN = frozenset({JobResultStatus.PENDING, JobResultStatus.RUNNING, JobResultStatus.MISSED})


def finished_count(core: Core) -> int:
    """How many job results have run to their end (``started_at`` is then when a worker process began each)."""
    with core.db.read() as session:
        counts = Repositories(session).job_results.count_by_status()
    return sum(count for status, count in counts.items() if status not in NOT_RUN)


def result_rows(core: Core, page: int = 1_000) -> list[JobResultRecord]:
    """Every job result of a scheduled job's due time."""
    found: list[JobResultRecord] = []
    with core.db.read() as session:
        repos = Repositories(session)
        while True:
            items = repos.job_results.list_page(limit=page, offset=len(found)).items
            found.extend(items)
            if len(items) < page:
                break
    return [r for r in found if r.scheduled_for is not None]


def noop_starts(core: Core) -> list[tuple[str, float]]:
    """When each no-op run's ``run()`` began, as the job itself said (its output), by job result id."""
    return [(r.id, float(r.output)) for r in result_rows(core) if r.output]


# -------------------------------------------------------------------------------------------------- APScheduler


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
                        if intervals and interval_for(i) is IntervalType.HOURLY
                        else DateTrigger(run_date=when, timezone=UTC))
        scheduler.add_job(noop, trigger, args=(epoch,), id=str(i), name=f"bench {i}")
