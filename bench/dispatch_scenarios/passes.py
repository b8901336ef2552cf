"""Scenario 3a, the cost of one dispatch pass: ``Dispatcher.dispatch_all_due`` plus the loop's ``earliest_due``,
with 0, 10, 100 and 1,000 due rows, at a small and at a large number of scheduled jobs (median of a few repeats),
and the query plans of the dispatcher's two queries on the large table.

Rows are made due by moving their ``next_run_at`` just before now. The database is left for the start-up scenario,
with the runs created here retired (completed), so that start-up has nothing to run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.app import Core
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from bot.scheduler import Dispatcher
from bot.services import utcnow
from dispatch_scenarios.common import (
    SEED,
    Figures,
    Sizes,
    add_scheduled_jobs,
    at,
    later_offsets,
    new_scheduled_jobs,
    open_jobgate,
)
from storage.repositories import Repositories

HISTORY_RUNNER = "bench:history"


def passes_jobgate(args: argparse.Namespace, sizes: Sizes) -> Figures:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    dispatcher = Dispatcher(core.db, grace=core.settings.misfire_grace, clock=utcnow)
    rng = random.Random(SEED + 2)
    base = time.time()
    offsets = later_offsets(sizes.big_total)
    hourly: list[str] = []
    inserted = 0
    figures: Figures = {"totals": {}}
    for total in (sizes.small_total, sizes.big_total):
        new = new_scheduled_jobs(job_id, [at(base + o) for o in offsets[inserted:total]], first_index=inserted)
        ids, _ = add_scheduled_jobs(core, new)
        hourly.extend(i for i, n in zip(ids, new, strict=True) if n.schedule.interval is IntervalType.HOURLY)
        inserted = total
        per_count: dict[str, Any] = {}
        for count in sizes.due_counts:
            dispatch_s: list[float] = []
            earliest_s: list[float] = []
            for _ in range(sizes.repeats):
                chosen = rng.sample(hourly, count)
                due_at = utcnow() - timedelta(milliseconds=1)
                with core.db.write() as session:
                    Repositories(session).scheduled_jobs.set_next_run(chosen, next_run_at=due_at, now=due_at)
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
    retire_pending(core)
    core.db.dispose()
    return figures


def retire_pending(core: Core) -> None:
    """Record the runs created here as completed: history now, so the start-up measurement has nothing to run."""
    while True:
        with core.db.write() as session:
            results = Repositories(session).job_results
            claimed = results.claim(runner_id=HISTORY_RUNNER, clock=utcnow, lease=timedelta(hours=1), limit=500)
            now = utcnow()
            for run in claimed:
                results.complete(run.id, runner_id=HISTORY_RUNNER, status=JobResultStatus.COMPLETED, now=now)
        if not claimed:
            return


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
