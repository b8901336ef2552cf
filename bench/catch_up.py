"""Catching up after downtime: minutely schedules whose scheduler was down for days, on SQLite.

What it prints (nothing is asserted): how long ``Dispatcher.dispatch_all_due`` takes to catch up, how many job
results it wrote (one ``missed`` result per schedule and gap, plus the latest due time when within the grace period),
and the longest wait of another writer during the catch-up: a thread doing one small write transaction every 10 ms,
as the API, Slack and the heartbeats do (SQLite has one write lock for the whole database, busy timeout 30 s).

The walk over the missed due times (croniter, a few hundred microseconds a step) runs with no transaction open; past
``bot.domain.dispatch.MAX_WALK`` due times it stops and the count is a lower bound.

Run it::

    .venv/bin/python bench/catch_up.py [--schedules 50] [--days 8]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from dispatch_scenarios.common import NOOP_MODULE, NOOP_SOURCE, new_scheduled_jobs, open_jobgate

from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.records import ObjectType
from bot.domain.schedules import IntervalType, Schedule
from bot.scheduler import Dispatcher
from bot.services import utcnow
from storage.repositories import Repositories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=50, help="minutely schedules (default 50)")
    parser.add_argument("--days", type=float, default=8.0, help="days the scheduler was down (default 8)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not a line per schedule caught up
    with tempfile.TemporaryDirectory() as workdir:
        jobs = Path(workdir) / "jobs"
        jobs.mkdir()
        (jobs / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE)
        core, job_id, _ = open_jobgate(f"sqlite:///{workdir}/catch_up.db", jobs, fresh=True)
        now = utcnow()
        down_since = now - timedelta(days=args.days)
        new = new_scheduled_jobs(job_id, [down_since] * args.schedules, interval=IntervalType.CUSTOM)
        new = [n.__class__(**{**n.__dict__, "schedule": Schedule(
            interval=IntervalType.CUSTOM, start_time=down_since, crontab="* * * * *", time_zone="UTC",
            name=n.name)}) for n in new]
        with core.db.write() as session:
            Repositories(session).scheduled_jobs.add_many(new)

        waits: list[float] = []
        done = threading.Event()

        def other_writer() -> None:
            while not done.is_set():
                started = time.perf_counter()
                with core.db.write() as session:
                    Repositories(session).audit.add(AuditEvent(
                        actor_id=None, action=AuditAction.JOB_ENABLE, object_type=ObjectType.JOB, object_id=job_id,
                    ), now=utcnow())
                waits.append(time.perf_counter() - started)
                time.sleep(0.01)

        writer = threading.Thread(target=other_writer, daemon=True)
        writer.start()
        started = time.perf_counter()
        report = Dispatcher(core.db, grace=timedelta(hours=1), clock=utcnow).dispatch_all_due(now=now)
        took = time.perf_counter() - started
        done.set()
        writer.join()
        print(f"{args.schedules} minutely schedules, {args.days:g} days down:")
        print(f"  catch-up: {took:.2f} s; job results written: {report.created} "
              f"(due times missed: {report.missed:,})")
        print(f"  another writer meanwhile: {len(waits)} transactions, longest {max(waits) * 1000:.0f} ms, "
              f"median {sorted(waits)[len(waits) // 2] * 1000:.1f} ms")
        core.db.dispose()


if __name__ == "__main__":
    main()
