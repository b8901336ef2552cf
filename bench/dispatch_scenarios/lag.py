"""Scenario 1, dispatch lag: many active schedules, some due at random instants in a short window; how late does
each due time start running?

jobgate runs the real ``bot.background.Background`` (dispatch loop, executor with its worker processes, reaper;
default ``Timings``) on a no-op job. Lag = ``started_at - scheduled_for`` (due time to ``running``: when a worker
process began the run); beside it due → created (``created_at`` is the dispatch pass's ``now``) and due → ``run()``
called (the no-op job returns its start, as the APScheduler job function notes it). APScheduler gets the same due
times in a ``BackgroundScheduler`` (memory job store, as many pool threads as jobgate's worker processes, nothing
dropped, nothing coalesced); its lag is the job function's start.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.background import Background, Timings
from dispatch_scenarios.common import (
    Figures,
    Sizes,
    add_scheduled_jobs,
    aps_add,
    aps_scheduler,
    at,
    due_offsets,
    finished_count,
    later_offsets,
    ms,
    new_scheduled_jobs,
    noop_starts,
    open_jobgate,
    percentile,
    result_rows,
    sleep_until,
    wait_until,
)


def lag_jobgate(args: argparse.Namespace, sizes: Sizes) -> Figures:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    t0 = time.time() + sizes.lead_s
    due = [at(t0 + o) for o in due_offsets(sizes.lag_due, sizes.lag_window_s)]
    later = [at(t0 + o) for o in later_offsets(sizes.lag_total - sizes.lag_due)]
    _, insert_s = add_scheduled_jobs(core, new_scheduled_jobs(job_id, due)
                                     + new_scheduled_jobs(job_id, later, first_index=len(due)))
    background = Background(core, timings=Timings(workers=args.workers))
    background.start()
    ready_margin = t0 - time.time()
    end = at(t0 + sizes.lag_window_s)
    sleep_until(t0 + sizes.lag_window_s + 0.5)
    # Only the window's due times come due during the run (the others are an hour or more away).
    done = wait_until(lambda: finished_count(core) >= sizes.lag_due, timeout=60, interval=0.25)
    background.stop()
    rows = [r for r in result_rows(core) if r.scheduled_for <= end]  # every one is for a due time
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


def lag_aps(args: argparse.Namespace, sizes: Sizes) -> Figures:
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
