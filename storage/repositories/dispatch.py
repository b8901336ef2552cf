"""The dispatcher's side of scheduled jobs: finding the due ones, moving them past the due times handled, sending
back to approval those whose job now needs it (or whose approved code changed), and waking dispatchers.

Part of ``ScheduledJobRepository`` (a mixin, so callers keep one repository). Every move is a compare-and-set on the
due time read, so a row another dispatcher moved, or that was cancelled, paused or changed meanwhile, stays as it is.
Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, String, Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.approval_rules import ApprovalTimes
from bot.domain.approvals import ApprovalState
from bot.domain.dispatch import MisfirePolicy
from bot.domain.records import EndReason, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from storage.models import ApprovalRow, JobRow, ScheduledJobRow
from storage.repositories._records import Returned
from storage.types import UTCDateTime

WAKEUP_CHANNEL = "jobgate_wakeup"
"""The PostgreSQL ``LISTEN``/``NOTIFY`` channel that wakes dispatchers and runners."""


@dataclass(frozen=True, kw_only=True)
class DueScheduledJob:
    """A due scheduled job, as the dispatcher needs it."""

    id: str
    job_id: str | None
    job_name: str
    job_slug: str = ""
    user_id: str | None
    decided_by_id: str | None
    interval: IntervalType
    start_time: datetime
    crontab: str | None
    time_zone: str
    name: str
    data: dict[str, Any] | None
    commit: bool
    next_run_at: datetime
    misfire_policy: MisfirePolicy
    approval_state: ApprovalState = ApprovalState.NOT_REQUIRED
    job_approval_required: bool = False
    job_changed_at: datetime | None = None
    approved_job_version: str | None = None
    current_job_version: str = ""


def _job_runnable() -> ColumnElement[bool]:
    """The scheduled job's job is enabled and installed: a disabled or vanished job's schedules are held (not due)."""
    # NOT IN the (few) switched-off jobs, so the planner still walks the due index and filters.
    held = select(JobRow.id).where(or_(~JobRow.enabled, ~JobRow.installed))
    return func.coalesce(ScheduledJobRow.job_id, "").not_in(held)


@dataclass(frozen=True, kw_only=True)
class Advance:
    """How the dispatcher moves one scheduled job past a due time it handled."""

    scheduled_job_id: str
    due_at: datetime
    next_run_at: datetime | None
    last_slot_at: datetime
    ran_at: datetime | None


def _table() -> Table:
    table = ScheduledJobRow.__table__
    assert isinstance(table, Table)
    return table


class ScheduledJobDispatch:
    """The due-time queries and moves of scheduled jobs (mixed into ``ScheduledJobRepository``)."""

    session: Session
    _approvals_read: dict[str, list[ApprovalRow | Returned]]
    _change: Callable[..., ScheduledJobRecord | None]
    """One conditional update of one scheduled job: the record as written, or None (``ScheduledJobRepository``)."""

    def lock_due(self, now: datetime, *, limit: int) -> list[DueScheduledJob]:
        """Active scheduled jobs due at ``now``, oldest first, locked for this transaction.

        PostgreSQL skips rows another dispatcher holds (``FOR UPDATE SKIP LOCKED``); SQLite's write transaction
        (``BEGIN IMMEDIATE``) already keeps other writers out.
        """
        return self._due(now, limit=limit, lock=True)

    def list_due(self, now: datetime, *, limit: int) -> list[DueScheduledJob]:
        """Active scheduled jobs due at ``now``, oldest first, without locking them (the dispatcher reads them, plans
        outside any write transaction, and then moves each by compare-and-set: :meth:`advance_each`)."""
        return self._due(now, limit=limit, lock=False)

    def _due(self, now: datetime, *, limit: int, lock: bool) -> list[DueScheduledJob]:
        query = (
            select(ScheduledJobRow)
            .where(ScheduledJobRow.enabled, ~ScheduledJobRow.paused, ScheduledJobRow.next_run_at.is_not(None),
                   ScheduledJobRow.next_run_at <= now, _job_runnable())
            .order_by(ScheduledJobRow.next_run_at, ScheduledJobRow.id)
            .limit(limit)
        )
        if lock and self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(query))
        jobs = {job_id: (name, bool(approval), slug, version, changed)
                for job_id, name, approval, slug, version, changed in self.session.execute(
                    select(JobRow.id, JobRow.name, JobRow.approval_required, JobRow.slug, JobRow.version,
                           JobRow.updated_at)
                    .where(JobRow.id.in_({r.job_id for r in rows if r.job_id}))
                ).all()}
        due: list[DueScheduledJob] = []
        for r in rows:
            job_name, job_approval, job_slug, job_version, job_changed = jobs.get(
                r.job_id or "", (r.name, False, "", "", None))
            due.append(DueScheduledJob(
                id=r.id, job_id=r.job_id, job_name=job_name, job_slug=job_slug, user_id=r.user_id,
                decided_by_id=r.decided_by_id, interval=IntervalType(r.interval), start_time=r.start_time,
                crontab=r.crontab, time_zone=r.time_zone, name=r.name, data=r.data, commit=r.commit,
                next_run_at=r.next_run_at,  # type: ignore[arg-type]  # not NULL: the query says so
                misfire_policy=_misfire_policy(r.misfire_policy),
                approval_state=ApprovalState(r.approval_state),
                job_approval_required=job_approval,
                job_changed_at=job_changed,
                approved_job_version=r.approved_job_version,
                current_job_version=job_version or "",
            ))
        return due

    def advance_each(self, advances: Sequence[Advance], *, now: datetime) -> set[str]:
        """Like :meth:`advance_many`, but returns the ids of the scheduled jobs that moved (a row another dispatcher
        moved, or that was cancelled, paused or changed since it was read, does not).

        Two statements for the whole batch, not one per row: the rows still at the due time read are selected and
        held for this transaction (PostgreSQL ``FOR UPDATE``, which re-reads a row another transaction changed
        meanwhile; SQLite's write transaction keeps other writers out), then all of them move in one executemany.
        """
        if not advances:
            return set()
        table = _table()
        query = (select(table.c.id, table.c.next_run_at)
                 .where(table.c.id.in_([a.scheduled_job_id for a in advances]), table.c.enabled, ~table.c.paused))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.order_by(table.c.id).with_for_update()  # one lock order for every dispatcher: no deadlock
        current = {row_id: due for row_id, due in self.session.execute(query).all()}
        still = [a for a in advances
                 if a.scheduled_job_id in current and current[a.scheduled_job_id] == a.due_at]
        self.advance_many(still, now=now)
        return {a.scheduled_job_id for a in still}

    def advance_many(self, advances: Sequence[Advance], *, now: datetime) -> int:
        """Move scheduled jobs past the due times just handled, in one statement for the whole batch.

        Each row moves only if its ``next_run_at`` is still the due time handled (compare-and-set); a one-off
        without a next run finishes. Returns how many rows moved.
        """
        if not advances:
            return 0
        table = _table()
        instant = UTCDateTime()
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.next_run_at == bindparam("b_due", type_=instant))
            .values(
                next_run_at=bindparam("b_next", type_=instant),
                last_slot_at=bindparam("b_slot", type_=instant),
                last_run_at=func.coalesce(bindparam("b_ran", type_=instant), table.c.last_run_at),
                total_run_count=table.c.total_run_count + bindparam("b_runs", type_=Integer()),
                enabled=bindparam("b_enabled", type_=Boolean()),
                end_reason=bindparam("b_end", type_=String()),
                ended_at=bindparam("b_ended", type_=instant),
                updated_at=bindparam("b_now", type_=instant),
            )
        )
        finished = EndReason.FINISHED.value
        params = [
            {
                "b_id": a.scheduled_job_id, "b_due": a.due_at, "b_next": a.next_run_at, "b_slot": a.last_slot_at,
                "b_ran": a.ran_at, "b_runs": 0 if a.ran_at is None else 1, "b_enabled": a.next_run_at is not None,
                "b_end": None if a.next_run_at is not None else finished,
                "b_ended": None if a.next_run_at is not None else now, "b_now": now,
            }
            for a in advances
        ]
        result = self.session.connection().execute(stmt, params)
        return result.rowcount

    def require_approval(
        self, scheduled_job_id: str, *, due_at: datetime, now: datetime, times: ApprovalTimes | None = None,
        job_version: str | None = None,
    ) -> ScheduledJobRecord | None:
        """Send a scheduled job that never needed approval back to awaiting approval (its job requires it now) for
        the job's code version ``job_version``: no next run until approved, with the quorum and approval due times of
        ``times``. Compare-and-set on the due time read; None when the row changed since."""
        times = times or ApprovalTimes()
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.next_run_at == due_at,
            ScheduledJobRow.enabled,
            ScheduledJobRow.approval_state == ApprovalState.NOT_REQUIRED.value,
            approval_required=True, approval_state=ApprovalState.PENDING.value, next_run_at=None, updated_at=now,
            min_approvers=times.min_approvers, expires_at=times.expires_at, remind_at=times.remind_at,
            escalate_at=times.escalate_at, approval_due_at=times.due_at, approval_asked_at=now,
            job_version=job_version or ScheduledJobRow.job_version,
        )

    def lapse_due(
        self, scheduled_job_id: str, *, due_at: datetime, approved_job_version: str, job_version: str, now: datetime,
        times: ApprovalTimes | None = None,
    ) -> ScheduledJobRecord | None:
        """The approval of a due scheduled job lapsed (its job's code changed): pending again for ``job_version``,
        no next run until approved, asked again at ``now``: its approvals are removed (the quorum must be met again)
        and its expiry, reminders and escalation start again from ``times`` (computed from ``now``).
        Compare-and-set on the due time and approved version read; None when it moved."""
        times = times or ApprovalTimes()
        record = self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.next_run_at == due_at,
            ScheduledJobRow.enabled,
            ScheduledJobRow.approval_state == ApprovalState.APPROVED.value,
            ScheduledJobRow.approved_job_version == approved_job_version,
            **_lapsed(job_version, now), approval_asked_at=now,
            min_approvers=times.min_approvers, expires_at=times.expires_at, remind_at=times.remind_at,
            escalate_at=times.escalate_at, approval_due_at=times.due_at,
        )
        if record is None:
            return None
        self.session.execute(delete(ApprovalRow).where(ApprovalRow.scheduled_job_id == scheduled_job_id))
        self._approvals_read.pop(scheduled_job_id, None)
        return replace(record, approvals=())

    def database_now(self) -> datetime:
        """The database's clock, so that every replica agrees on what is due (on SQLite, one machine's clock)."""
        if self.session.get_bind().dialect.name == "sqlite":
            text = self.session.scalar(select(func.strftime("%Y-%m-%dT%H:%M:%f+00:00", "now")))
            return datetime.fromisoformat(str(text))
        value = self.session.scalar(select(func.clock_timestamp()))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def earliest_due(self) -> datetime | None:
        """The earliest ``next_run_at`` of any active scheduled job (the dispatcher sleeps until then)."""
        return self.session.scalar(
            select(func.min(ScheduledJobRow.next_run_at))
            .where(ScheduledJobRow.enabled, ~ScheduledJobRow.paused, ScheduledJobRow.next_run_at.is_not(None),
                   _job_runnable())
        )

    def notify_wakeup(self) -> None:
        """Wake every dispatcher listening on PostgreSQL; delivered only if this transaction commits."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_notify(WAKEUP_CHANNEL, "")))

    def set_next_run(self, scheduled_job_ids: Sequence[str], *, next_run_at: datetime, now: datetime) -> int:
        """Move the next due time of active scheduled jobs (the dispatch benchmark makes rows due with it).

        Returns:
            How many moved (ended ones are left alone).
        """
        moved = 0
        for i in range(0, len(scheduled_job_ids), 500):
            result = self.session.execute(
                update(ScheduledJobRow)
                .where(ScheduledJobRow.id.in_(scheduled_job_ids[i:i + 500]), ScheduledJobRow.enabled)
                .values(next_run_at=next_run_at, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            moved += result.rowcount  # type: ignore[attr-defined]
        return moved


def _lapsed(job_version: str, now: datetime) -> dict[str, Any]:
    """The values of a request whose approval lapsed: pending for ``job_version``; the approved version is kept, to
    say what changed."""
    return {"approval_state": ApprovalState.PENDING.value, "approval_required": True, "job_version": job_version,
            "decided_by_id": None, "decided_at": None, "decision_reason": None, "next_run_at": None,
            "updated_at": now}


def _misfire_policy(stored: str) -> MisfirePolicy:
    """The stored misfire policy; one this version does not know is read as the default."""
    try:
        return MisfirePolicy(stored)
    except ValueError:
        return MisfirePolicy.RUN_ONCE

