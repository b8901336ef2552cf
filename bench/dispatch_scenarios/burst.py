"""Scenario 2, burst: many one-off jobs due at the same instant T; how soon do they all exist and all run?

jobgate: T → all job results exist (the dispatch loop's ``on_dispatched`` hook, wrapped here to take a timestamp,
fires after each batch committed), T → all are ``running`` (``max(started_at)``), T → the last ``run()`` began, and
how many started within 1 s. APScheduler: T → all submitted to its pool (``EVENT_JOB_SUBMITTED``) and T → all job
functions started.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.background import Background, Timings
from bot.domain.schedules import IntervalType
from dispatch_scenarios.common import (
    Figures,
    Sizes,
    add_scheduled_jobs,
    aps_add,
    aps_scheduler,
    at,
    finished_count,
    new_scheduled_jobs,
    noop_starts,
    open_jobgate,
    percentile,
    result_rows,
    sleep_until,
    wait_until,
)


def burst_jobgate(args: argparse.Namespace, sizes: Sizes) -> Figures:
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    t0 = time.time() + sizes.lead_s
    due = at(t0)
    _, insert_s = add_scheduled_jobs(core, new_scheduled_jobs(job_id, [due] * sizes.burst,
                                                                  interval=IntervalType.FUTURE))
    background = Background(core, timings=Timings(workers=args.workers))
    loop = background.dispatch_loop
    assert loop is not None and loop.on_dispatched is not None
    dispatched: list[float] = []
    forward = loop.on_dispatched

    def mark_dispatched() -> None:  # instrumentation only: a timestamp, then the real wake-up of the executor
        dispatched.append(time.time())
        forward()

    loop.on_dispatched = mark_dispatched
    background.start()
    ready_margin = t0 - time.time()
    sleep_until(t0)
    done = wait_until(lambda: finished_count(core) >= sizes.burst, timeout=sizes.burst_timeout_s, interval=0.25)
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


def burst_aps(args: argparse.Namespace, sizes: Sizes) -> Figures:
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
