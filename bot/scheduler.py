"""The dispatcher: turns due times of scheduled jobs into job results, exactly once each.

The database is the single source of truth; nothing here keeps its own copy of the schedules. One pass reads a batch
of due scheduled jobs (no lock held), plans them in Python with the misfire policy (``bot.domain.dispatch``), and
only then writes, in short write transactions of at most ``WRITE_CHUNK`` scheduled jobs: each one's ``next_run_at``
is advanced by compare-and-set from the due time it read (a row another replica moved, or that was cancelled or
paused meanwhile, is left alone), and job results are inserted only for the rows that moved (a unique key on
scheduled job and due time makes a second one impossible, across any number of replicas). The due times of one gap
that were not run become ONE ``missed`` result saying how many, from when to when, with a log line and a
notification to the requester. A scheduled job whose job now requires approval, and which nobody approved, does not
run: it goes back to awaiting approval and the approvers are asked. Neither does an approved one whose job's code
changed since it was approved (approval is pinned to the code version reviewed): its approval lapses, it awaits
approval again, the approvers are asked again with a note saying what changed, and the requester is told. Each run
carries the version it was approved for, which the worker checks against the code it imported. Must not import Slack
or handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.approval_rules import ApprovalTimes
from bot.domain.approvals import ApprovalState, approval_lapsed, code_changed_note
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.dispatch import DispatchPlan, MissedRuns, missed_reason, needs_approval_now, plan_dispatch
from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.permissions import JobRef
from bot.domain.records import LogRecord, NewJobResult, ObjectType
from bot.domain.results import JobResultStatus
from bot.domain.schedules import Schedule
from bot.logs import ids
from bot.loops import WakeableLoop
from bot.services.announcements import announce_approval_lapsed, announce_approval_request
from bot.services.deadlines import BATCH, Deadlines
from bot.services.deps import ServiceDeps
from storage.db import Database
from storage.repositories import Advance, DueScheduledJob, Repositories

log = logging.getLogger(__name__)

BATCH_SIZE = 500
"""Due scheduled jobs read and planned per pass."""
WRITE_CHUNK = 100
"""Scheduled jobs written per write transaction: the write lock (SQLite's, for the whole database) is held briefly."""


@dataclass(frozen=True)
class DispatchReport:
    """What one pass did.

    Attributes:
        scheduled_jobs: due scheduled jobs read.
        created: job results created (to run, and one per gap of missed due times).
        missed: due times missed (each gap is one job result; this counts the due times in them).
        finished: one-offs finished.
        awaiting_approval: scheduled jobs sent back to awaiting approval (their job requires it now).
    """

    scheduled_jobs: int
    created: int
    missed: int
    finished: int
    awaiting_approval: int = 0

    @property
    def is_empty(self) -> bool:
        return self.scheduled_jobs == 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(self.scheduled_jobs + other.scheduled_jobs, self.created + other.created,
                              self.missed + other.missed, self.finished + other.finished,
                              self.awaiting_approval + other.awaiting_approval)


class Dispatcher:
    """Creates the job results of due scheduled jobs.

    Args:
        db: the database.
        grace: how late a missed due time may still run (``JOBGATE_MISFIRE_GRACE``).
        clock: where ``now`` comes from when a pass is not given one (the database clock on PostgreSQL).
        batch_size: scheduled jobs read and planned per pass.
        deps: the services' dependencies (policy, approval channel), to ask approvers when a scheduled job goes back
            to awaiting approval; without them (some tests, benchmarks) it goes back but nobody is asked.
    """

    def __init__(
        self,
        db: Database,
        *,
        grace: timedelta,
        clock: Callable[[], datetime],
        batch_size: int = BATCH_SIZE,
        deps: ServiceDeps | None = None,
    ) -> None:
        self.db = db
        self.grace = grace
        self.clock = clock
        self.batch_size = batch_size
        self.deps = deps

    def dispatch_due(self, now: datetime | None = None) -> DispatchReport:
        """One pass over at most ``batch_size`` due scheduled jobs: read, plan, then write in short transactions."""
        with self.db.read() as session:
            repos = Repositories(session)
            if now is None:
                now = repos.scheduled_jobs.database_now() if self.db.is_postgresql else self.clock()
            due = repos.scheduled_jobs.list_due(now, limit=self.batch_size)
        planned: list[tuple[DueScheduledJob, DispatchPlan | None]] = []
        for row in due:  # no transaction open: a long walk holds no lock
            if needs_approval_now(job_approval_required=row.job_approval_required,
                                  approval_state=row.approval_state) or _lapsed(row):
                planned.append((row, None))
                continue
            planned.append((row, plan_dispatch(_schedule(row), due_at=row.next_run_at, now=now,
                                               policy=row.misfire_policy, grace=self.grace)))
        report = DispatchReport(len(due), 0, 0, 0)
        for i in range(0, len(planned), WRITE_CHUNK):
            report += self._write(planned[i:i + WRITE_CHUNK], now)
        return report

    def _write(self, planned: list[tuple[DueScheduledJob, DispatchPlan | None]], now: datetime) -> DispatchReport:
        created = missed = finished = awaiting = 0
        with self.db.write() as session:
            repos = Repositories(session)
            runnable: list[tuple[DueScheduledJob, DispatchPlan]] = []
            for row, plan in planned:
                if plan is None and _lapsed(row):
                    awaiting += self._lapse(repos, row, now)
                elif plan is None:
                    awaiting += self._require_approval(repos, row, now)
                else:
                    runnable.append((row, plan))
            moved = repos.scheduled_jobs.advance_each([
                Advance(scheduled_job_id=row.id, due_at=row.next_run_at, next_run_at=plan.next_run_at,
                        last_slot_at=plan.last_slot_at, ran_at=plan.run_at)
                for row, plan in runnable
            ], now=now)
            slots: list[NewJobResult] = []
            for row, plan in runnable:
                if row.id not in moved:
                    continue
                finished += plan.next_run_at is None
                if plan.run_at is not None:
                    slots.append(_result(row, plan.run_at, now))
                if plan.missed is not None:
                    missed += plan.missed.count
                    created += self._record_missed(repos, row, plan.missed, now)
            created += repos.job_results.insert_slots(slots)
        return DispatchReport(0, created, missed, finished, awaiting)

    def _approval_times(self, row: DueScheduledJob, now: datetime) -> ApprovalTimes:
        """The quorum, expiry, reminders and escalation of a request whose approvers are asked anew at ``now``, by
        the approval rule in force from now on."""
        if self.deps is None or row.job_id is None:
            return ApprovalTimes()
        return ApprovalTimes.for_request(self.deps.policy.approval_rule(JobRef(slug=row.job_slug, name=row.job_name)),
                                         now)

    def _require_approval(self, repos: Repositories, row: DueScheduledJob, now: datetime) -> int:
        times = self._approval_times(row, now)
        record = repos.scheduled_jobs.require_approval(row.id, due_at=row.next_run_at, now=now, times=times,
                                                       job_version=row.current_job_version or None)
        if record is None:
            return 0
        repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.SCHEDULED_JOB_REQUIRE_APPROVAL,
                                   object_type=ObjectType.SCHEDULED_JOB, object_id=record.id,
                                   detail={"due_at": row.next_run_at.isoformat()}), now=now)
        if self.deps is not None:
            announce_approval_request(self.deps, repos, record, now=now)
        log.warning("scheduled job %s did not run at %s: its job requires approval now; approvers were asked",
                    row.id, row.next_run_at.isoformat(), extra=ids(scheduled_job_id=row.id))
        return 1

    def _lapse(self, repos: Repositories, row: DueScheduledJob, now: datetime) -> int:
        assert row.approved_job_version is not None  # _lapsed(row) says so
        record = repos.scheduled_jobs.lapse_due(row.id, due_at=row.next_run_at,
                                                approved_job_version=row.approved_job_version,
                                                job_version=row.current_job_version, now=now,
                                                times=self._approval_times(row, now))
        if record is None:
            return 0
        repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.SCHEDULED_JOB_APPROVAL_LAPSE,
                                   object_type=ObjectType.SCHEDULED_JOB, object_id=record.id,
                                   detail={"due_at": row.next_run_at.isoformat(),
                                           "approved_job_version": row.approved_job_version,
                                           "job_version": row.current_job_version}), now=now)
        if self.deps is not None:
            announce_approval_lapsed(self.deps, repos, record, now=now)
        log.warning("scheduled job %s did not run at %s: %s", row.id, row.next_run_at.isoformat(),
                    code_changed_note(approved_version=row.approved_job_version,
                                      current_version=row.current_job_version))
        return 1

    @staticmethod
    def _record_missed(repos: Repositories, row: DueScheduledJob, missed: MissedRuns, now: datetime) -> int:
        text = missed.describe(until=now, reason=missed_reason(first_missed=missed.first,
                                                               job_changed_at=row.job_changed_at))
        result = repos.job_results.add_slot(NewJobResult(
            job_id=row.job_id, scheduled_job_id=row.id, scheduled_for=missed.first, name=row.job_name,
            user_id=row.user_id, approved_by_id=row.decided_by_id, status=JobResultStatus.MISSED,
            dry_run=not row.commit, data=None, created_at=now, completed_at=now, error=text,
        ))
        if result is None:
            return 0
        repos.job_results.add_log(result.id, [LogRecord(logged_at=now, level="warning", message=text)])
        if row.user_id:
            repos.outbox.add(OutboxMessage(channel=row.user_id, kind=OutboxKind.RUN_FINISHED,
                                           payload={"job_result_id": result.id}, ref_type=ObjectType.JOB_RESULT,
                                           ref_id=result.id), now=now)
        if missed.count > 1:
            log.warning("scheduled job %s %s", row.id, text,
                        extra=ids(job_result_id=result.id, scheduled_job_id=row.id))
        return 1

    def dispatch_all_due(self, now: datetime | None = None) -> DispatchReport:
        """Passes until nothing is due (a burst of due jobs takes several batches)."""
        total = DispatchReport(0, 0, 0, 0)
        while True:
            report = self.dispatch_due(now)
            total += report
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


class ApprovalLoop(WakeableLoop):
    """Expires, reminds about and escalates pending requests (``Deadlines.handle_due``) in a thread: sleeps until the
    earliest due time or ``poll``. Any number of replicas may run it: each due time is handled exactly once.

    Args:
        deadlines: the use case.
        poll: the longest sleep.
        clock: where ``now`` comes from.
    """

    def __init__(self, deadlines: Deadlines, *, poll: timedelta = timedelta(seconds=5),
                 clock: Callable[[], datetime]) -> None:
        super().__init__("jobgate-approvals", self._pass, retry_after=poll.total_seconds())
        self.deadlines = deadlines
        self.poll = poll
        self.clock = clock

    def _pass(self) -> float:
        while self.deadlines.handle_due(self.clock()) >= BATCH:
            pass
        timeout = self.poll.total_seconds()
        earliest = self.deadlines.earliest_due()
        if earliest is not None:
            timeout = min(timeout, (earliest - self.clock()).total_seconds())
        return timeout


def _schedule(row: DueScheduledJob) -> Schedule:
    return Schedule(interval=row.interval, start_time=row.start_time, crontab=row.crontab, time_zone=row.time_zone,
                    name=row.name)


def _lapsed(row: DueScheduledJob) -> bool:
    """Whether the approval of a due scheduled job lapsed: its job's code changed since it was approved."""
    return approval_lapsed(approval_state=row.approval_state, approved_version=row.approved_job_version,
                           current_version=row.current_job_version)


def _result(row: DueScheduledJob, at: datetime, now: datetime) -> NewJobResult:
    """The job result of one due time to run (``pending``), pinned to the code version it was approved for."""
    approved = row.approval_state is ApprovalState.APPROVED
    return NewJobResult(
        job_id=row.job_id, scheduled_job_id=row.id, scheduled_for=at, name=row.job_name, user_id=row.user_id,
        approved_by_id=row.decided_by_id, status=JobResultStatus.PENDING, dry_run=not row.commit, data=row.data,
        created_at=now, job_version=row.approved_job_version if approved else None,
    )
