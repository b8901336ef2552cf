"""The dispatcher: turns due times of scheduled jobs into job results, exactly once each.

The database is the single source of truth; nothing here keeps its own copy of the schedules. One pass locks a batch
of due scheduled jobs, applies the misfire policy (``bot.domain.dispatch``), inserts one job result per due time
(a unique key on scheduled job and due time makes a second one impossible, across any number of replicas), advances
``next_run_at`` by compare-and-set from the due time it handled, and commits. Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.dispatch import plan_dispatch
from bot.domain.records import NewJobResult
from bot.domain.results import JobResultStatus
from bot.domain.schedules import Schedule
from bot.loops import WakeableLoop
from storage.db import Database
from storage.repositories import Advance, DueScheduledJob, Repositories

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MISSED_ERROR = "missed: the scheduler was not running at this due time"


@dataclass(frozen=True)
class DispatchReport:
    """What one pass did."""

    scheduled_jobs: int
    created: int
    missed: int
    finished: int

    @property
    def is_empty(self) -> bool:
        return self.scheduled_jobs == 0


class Dispatcher:
    """Claims due scheduled jobs and creates their job results.

    Args:
        db: the database.
        grace: how late a missed due time may still run (``JOBGATE_MISFIRE_GRACE``).
        clock: where ``now`` comes from when a pass is not given one (the database clock on PostgreSQL).
        batch_size: scheduled jobs locked per transaction.
    """

    def __init__(
        self,
        db: Database,
        *,
        grace: timedelta,
        clock: Callable[[], datetime],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.db = db
        self.grace = grace
        self.clock = clock
        self.batch_size = batch_size

    def dispatch_due(self, now: datetime | None = None) -> DispatchReport:
        """One pass over at most ``batch_size`` due scheduled jobs, in one transaction."""
        with self.db.write() as session:
            repos = Repositories(session)
            if now is None:
                now = repos.scheduled_jobs.database_now() if self.db.is_postgresql else self.clock()
            due = repos.scheduled_jobs.lock_due(now, limit=self.batch_size)
            slots: list[NewJobResult] = []
            advances: list[Advance] = []
            finished = missed = 0
            for row in due:
                plan = plan_dispatch(
                    _schedule(row), due_at=row.next_run_at, now=now, policy=row.misfire_policy, grace=self.grace
                )
                if plan.run_at is not None:
                    slots.append(_result(row, plan.run_at, JobResultStatus.PENDING, now))
                slots.extend(_result(row, at, JobResultStatus.MISSED, now) for at in plan.missed)
                missed += len(plan.missed)
                if plan.missed_not_recorded:
                    log.warning("scheduled job %s missed %d more due times than were recorded",
                                row.id, plan.missed_not_recorded)
                advances.append(Advance(scheduled_job_id=row.id, due_at=row.next_run_at,
                                        next_run_at=plan.next_run_at, last_slot_at=plan.last_slot_at,
                                        ran_at=plan.run_at))
                finished += plan.next_run_at is None
            moved = repos.scheduled_jobs.advance_many(advances, now=now)
            if moved != len(advances):  # cannot happen while the rows are locked; the unique key would still hold
                log.warning("%d scheduled jobs moved while they were being dispatched", len(advances) - moved)
            created = repos.job_results.insert_slots(slots)
        return DispatchReport(scheduled_jobs=len(due), created=created, missed=missed, finished=finished)

    def dispatch_all_due(self, now: datetime | None = None) -> DispatchReport:
        """Passes until nothing is due (a burst of due jobs takes several batches)."""
        total = DispatchReport(0, 0, 0, 0)
        while True:
            report = self.dispatch_due(now)
            total = DispatchReport(
                total.scheduled_jobs + report.scheduled_jobs, total.created + report.created,
                total.missed + report.missed, total.finished + report.finished,
            )
            if report.scheduled_jobs < self.batch_size:
                return total

    def earliest_due(self) -> datetime | None:
        with self.db.read() as session:
            return Repositories(session).scheduled_jobs.earliest_due()


class DispatchLoop(WakeableLoop):
    """Runs the dispatcher in a thread: sleeps until the earliest due time or ``poll``, woken early by ``wake()``.

    Args:
        dispatcher: the dispatcher.
        poll: the longest sleep (the safety net when a wake-up is lost).
        on_dispatched: called after a pass that created job results (wakes the executor).
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        poll: timedelta = timedelta(seconds=5),
        on_dispatched: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("jobgate-dispatcher", self._pass, retry_after=poll.total_seconds())
        self.dispatcher = dispatcher
        self.poll = poll
        self.on_dispatched = on_dispatched
        self.last_pass_at: datetime | None = None
        self.passes = 0

    def _pass(self) -> float:
        while True:  # batch after batch, waking the executor after each commit so a burst starts running at once
            report = self.dispatcher.dispatch_due()
            if report.created and self.on_dispatched:
                self.on_dispatched()
            if report.scheduled_jobs < self.dispatcher.batch_size:
                break
        self.passes += 1
        self.last_pass_at = self.dispatcher.clock()
        timeout = self.poll.total_seconds()
        earliest = self.dispatcher.earliest_due()
        if earliest is not None:
            timeout = min(timeout, (earliest - self.dispatcher.clock()).total_seconds())
        return timeout


def _schedule(row: DueScheduledJob) -> Schedule:
    return Schedule(interval=row.interval, start_time=row.start_time, crontab=row.crontab, time_zone=row.time_zone,
                    name=row.name)


def _result(row: DueScheduledJob, at: datetime, status: JobResultStatus, now: datetime) -> NewJobResult:
    """The job result of one due time: to run (``pending``), or ``missed``."""
    missed = status is JobResultStatus.MISSED
    return NewJobResult(
        job_id=row.job_id,
        scheduled_job_id=row.id,
        scheduled_for=at,
        name=row.job_name,
        user_id=row.user_id,
        approved_by_id=row.decided_by_id,
        status=status,
        dry_run=not row.commit,
        data=None if missed else row.data,
        created_at=now,
        completed_at=now if missed else None,
        error=MISSED_ERROR if missed else None,
    )
