"""Scenario 3b, start-up and memory with the large table of the passes scenario, in a fresh process.

jobgate: constructing and starting ``Background`` until the dispatch loop's first round (``dispatch_all_due`` then
``earliest_due``, wrapped here to take a timestamp) has completed; also process exec → ready, which includes
imports, the migrations check and the job sync; and resident memory (``VmRSS``/``VmHWM``). APScheduler: a fresh
process adds as many jobs (the same mix) to a stopped scheduler and starts it.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from bot.background import Background, Timings
from dispatch_scenarios.common import (
    Figures,
    Sizes,
    aps_add,
    aps_scheduler,
    later_offsets,
    open_jobgate,
    proc_status_mb,
    tree_memory_mb,
    wait_until,
)
from storage.repositories import Repositories


def startup_jobgate(args: argparse.Namespace, sizes: Sizes) -> Figures:
    core, _, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=False)
    with core.db.read() as session:  # every one of them has a next run: the passes scenario made them so
        active = Repositories(session).scheduled_jobs.list_active(limit=1, offset=0).count
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
    background.executor.pool.wait_ready(30)
    tree_rss, tree_pss, processes = tree_memory_mb()
    background.stop()
    core.db.dispose()
    return {"active": active, "startup_s": startup_s, "exec_to_ready_s": ready_epoch - args.spawned_at,
            "rss_before_mb": rss_before, "rss_mb": rss, "hwm_mb": hwm, "tree_rss_mb": tree_rss,
            "tree_pss_mb": tree_pss, "processes": processes}


def startup_aps(args: argparse.Namespace, sizes: Sizes) -> Figures:
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
