"""Scheduled jobs: run requests with their schedule and approval state, and the dispatcher's due-time queries.

State changes that can race (decisions, cancel, pause, resume) are single conditional updates that return the row as
they wrote it (``UPDATE ... RETURNING``), or None when the condition no longer held: never read-then-write, and no
read-back. Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.domain.approval_rules import ApprovalTimes, approval_due_at
from bot.domain.approvals import ApprovalState
from bot.domain.dispatch import MisfirePolicy
from bot.domain.records import EndReason, NewScheduledJob, Page, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from storage.models import ApprovalRow, JobRow, ScheduledJobRow
from storage.repositories._records import Returned, is_uuid, new_id, scheduled_job_record, scheduled_job_values
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
class ApprovalDue:
    """A pending request whose expiry, reminder or escalation is due, as the approval loop read it."""

    id: str
    due_at: datetime
    expires_at: datetime | None
    remind_at: datetime | None
    escalate_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Advance:
    """How the dispatcher moves one scheduled job past a due time it handled."""

    scheduled_job_id: str
    due_at: datetime
    next_run_at: datetime | None
    last_slot_at: datetime
    ran_at: datetime | None


class ScheduledJobRepository:
    """The scheduled_jobs table."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The session's identity map holds rows weakly: the job rows read in this transaction are kept here, so a
        # write's RETURNING row finds its job in the session (no second SELECT; approving stays one read, one write).
        self._jobs_read: dict[str, JobRow] = {}
        # Likewise the approvals of the scheduled jobs read (and approved) in this transaction.
        self._approvals_read: dict[str, list[ApprovalRow]] = {}

    def _table(self) -> Table:
        table = ScheduledJobRow.__table__
        assert isinstance(table, Table)
        return table

    def _record(self, row: Returned) -> ScheduledJobRecord:
        """The record of a row just written; its job comes from the session when it was read in this transaction."""
        job = self.session.get(JobRow, row.job_id) if row.job_id else None
        approvals = self._approvals_read.get(row.id)
        if approvals is None:
            approvals = self._approvals([row.id]).get(row.id, [])
        return scheduled_job_record(row, job, approvals)

    def _approvals(self, scheduled_job_ids: Sequence[str]) -> dict[str, list[ApprovalRow]]:
        """The approvals of these scheduled jobs, by scheduled job id (one query)."""
        found: dict[str, list[ApprovalRow]] = {}
        if not scheduled_job_ids:
            return found
        for approval in self.session.scalars(
            select(ApprovalRow).where(ApprovalRow.scheduled_job_id.in_(scheduled_job_ids))
            .execution_options(populate_existing=True)
        ):
            found.setdefault(approval.scheduled_job_id, []).append(approval)
        return found

    def _keep(self, job: JobRow | None) -> JobRow | None:
        if job is not None:
            self._jobs_read[job.id] = job
        return job

    # ----------------------------------------------------------------------------------------------- writing

    def add(self, new: NewScheduledJob) -> ScheduledJobRecord:
        """Store a new scheduled job (a new id is assigned) and return it as stored."""
        table = self._table()
        row = self.session.execute(
            insert(table).returning(table), scheduled_job_values(new, scheduled_job_id=new_id())
        ).one()
        return self._record(row)

    def add_many(self, new: Sequence[NewScheduledJob]) -> list[str]:
        """Store many new scheduled jobs in one statement (seeding, benchmarks); returns their ids, in order."""
        if not new:
            return []
        values = [scheduled_job_values(n, scheduled_job_id=new_id()) for n in new]
        self.session.execute(insert(self._table()), values)
        return [v["id"] for v in values]

    def _change(
        self, *where: ColumnElement[bool] | InstrumentedAttribute[bool], **values: Any
    ) -> ScheduledJobRecord | None:
        """One conditional update of one scheduled job; the row as written, or None when ``where`` did not hold."""
        table = self._table()
        row = self.session.execute(
            update(table).where(*where).values(**values).returning(table)
        ).first()
        return self._record(row) if row is not None else None

    def decide(
        self,
        scheduled_job_id: str,
        *,
        approval_state: ApprovalState,
        decided_by_id: str,
        decided_at: datetime,
        reason: str | None,
        next_run_at: datetime | None,
        end: bool,
        approved_job_version: str | None = None,
    ) -> ScheduledJobRecord | None:
        """Record a decision if the request is still pending and active (compare-and-set).

        Args:
            end: end the scheduled job with it (a denial).
            approved_job_version: for an approval, the job's code version it is pinned to.

        Returns:
            The scheduled job as decided, or None when someone else decided (or cancelled) first.
        """
        values: dict[str, Any] = {
            "approval_state": approval_state.value,
            "decided_by_id": decided_by_id,
            "decided_at": decided_at,
            "decision_reason": reason,
            "next_run_at": next_run_at,
            "updated_at": decided_at,
            "remind_at": None,
            "escalate_at": None,
            "approval_due_at": None,
        }
        if approval_state is ApprovalState.APPROVED:
            values["approved_job_version"] = approved_job_version
        if end:
            values.update(enabled=False, end_reason=EndReason.DENIED.value, ended_at=decided_at,
                          ended_by_id=decided_by_id)
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.approval_state == ApprovalState.PENDING.value,
            ScheduledJobRow.enabled,
            **values,
        )

    def end(
        self, scheduled_job_id: str, *, reason: EndReason, ended_by_id: str | None, now: datetime
    ) -> ScheduledJobRecord | None:
        """End an active scheduled job (kept for the record); returns it as ended, or None when it had already ended."""
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.enabled,
            enabled=False, next_run_at=None, end_reason=reason.value, ended_at=now, ended_by_id=ended_by_id,
            updated_at=now, remind_at=None, escalate_at=None, approval_due_at=None,
        )

    def set_paused(
        self, scheduled_job_id: str, *, paused: bool, next_run_at: datetime | None, now: datetime
    ) -> ScheduledJobRecord | None:
        """Pause, or resume with ``next_run_at``, an active scheduled job.

        Returns:
            The scheduled job as changed, or None when it was already in that state or has ended.
        """
        values: dict[str, Any] = {"paused": paused, "updated_at": now}
        if not paused:
            values["next_run_at"] = next_run_at
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.enabled,
            ScheduledJobRow.paused == (not paused),
            **values,
        )

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

    # ----------------------------------------------------------------------------------------------- reading

    def get(self, scheduled_job_id: str) -> ScheduledJobRecord | None:
        """One scheduled job, also an ended one, with its approvals (one query); None when there is no such id."""
        if not is_uuid(scheduled_job_id):
            return None
        found = self.session.execute(
            select(ScheduledJobRow, JobRow, ApprovalRow)
            .outerjoin(JobRow, ScheduledJobRow.job_id == JobRow.id)
            .outerjoin(ApprovalRow, ApprovalRow.scheduled_job_id == ScheduledJobRow.id)
            .where(ScheduledJobRow.id == scheduled_job_id)
            # Conditional updates bypass the session, so always take the row as the database has it now.
            .execution_options(populate_existing=True)
        ).all()
        if not found:
            return None
        approvals = [r[2] for r in found if r[2] is not None]
        self._approvals_read[scheduled_job_id] = approvals
        return scheduled_job_record(found[0][0], self._keep(found[0][1]), approvals)

    def lock_for_decision(self, scheduled_job_id: str) -> None:
        """Hold the scheduled job's row until this transaction ends, so that approvals of one request are counted one
        after another (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's write transaction already keeps other writers
        out)."""
        if is_uuid(scheduled_job_id) and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(ScheduledJobRow.id).where(ScheduledJobRow.id == scheduled_job_id).with_for_update()
            )

    def add_approval(
        self, scheduled_job_id: str, *, user_id: str, at: datetime, comment: str | None, job_version: str | None = None
    ) -> bool:
        """Record one approval of a request; False when that user had already approved it (nothing changes)."""
        table = ApprovalRow.__table__
        assert isinstance(table, Table)
        values = {"scheduled_job_id": scheduled_job_id, "user_id": user_id, "approved_at": at, "comment": comment,
                  "job_version": job_version}
        dialect = self.session.get_bind().dialect.name
        stmt = (postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)).values(**values)
        result = self.session.execute(stmt.on_conflict_do_nothing(index_elements=["scheduled_job_id", "user_id"]))
        added = bool(result.rowcount)  # type: ignore[attr-defined]
        self._approvals_read.pop(scheduled_job_id, None)  # read again with this one
        return added

    def find_by_id_prefix(self, prefix: str, *, limit: int) -> list[ScheduledJobRecord]:
        """Scheduled jobs (also ended ones) whose ID starts with ``prefix`` (lowercase hex digits and hyphens).

        A range on the primary key (``id >= prefix AND id < prefix'``, the prefix with its last digit raised) walks
        the index on SQLite and PostgreSQL alike; ``LIKE`` then keeps the exact matches. The bound is raised within
        digits and letters ('9' to 'a', 'f' to 'g'), never into punctuation, which non-C collations skip.
        """
        stem = prefix.rstrip("-")
        if not stem:
            return []
        last = stem[-1]
        upper = stem[:-1] + ("a" if last == "9" else chr(ord(last) + 1))
        rows = self.session.execute(
            select(ScheduledJobRow, JobRow).outerjoin(JobRow, ScheduledJobRow.job_id == JobRow.id)
            .where(ScheduledJobRow.id >= stem, ScheduledJobRow.id < upper, ScheduledJobRow.id.like(f"{prefix}%"))
            .order_by(ScheduledJobRow.id).limit(limit)
            .execution_options(populate_existing=True)
        ).all()
        return [scheduled_job_record(row[0], self._keep(row[1])) for row in rows]

    def _page(self, query: Select[Any], *, limit: int, offset: int, order: Sequence[Any]) -> Page[ScheduledJobRecord]:
        count = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.add_columns(JobRow).outerjoin(JobRow, ScheduledJobRow.job_id == JobRow.id)
            .order_by(*order).limit(limit).offset(offset)
        ).all()
        approvals = self._approvals([r[0].id for r in rows])
        return Page(count=count, items=[scheduled_job_record(r[0], r[1], approvals.get(r[0].id, ())) for r in rows])

    def list_queue(
        self, *, limit: int, offset: int, job_ids: Sequence[str] | None = None, own_user_id: str | None = None
    ) -> Page[ScheduledJobRecord]:
        """The approval queue: pending and still active, oldest start first.

        ``job_ids`` limits it to those jobs (None: every job), except that the requests of ``own_user_id`` are
        always in it.
        """
        query = select(ScheduledJobRow).where(
            ScheduledJobRow.approval_state == ApprovalState.PENDING.value, ScheduledJobRow.enabled
        )
        if job_ids is not None:
            query = query.where(_visible(job_ids, own_user_id))
        return self._page(query, limit=limit, offset=offset, order=(ScheduledJobRow.start_time, ScheduledJobRow.id))

    def count_pending(self, user_id: str, *, lock: bool = False) -> int:
        """How many of ``user_id``'s requests wait for approval (pending and still active).

        With ``lock``, concurrent writers that count for the same user wait for this transaction (PostgreSQL: an
        advisory transaction lock per user; SQLite's write transaction already keeps other writers out), so a check
        on the count holds until the commit.
        """
        if lock and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext("pending:" + user_id))))
        return self.session.scalar(
            select(func.count()).select_from(ScheduledJobRow).where(
                ScheduledJobRow.user_id == user_id, ScheduledJobRow.enabled,
                ScheduledJobRow.approval_state == ApprovalState.PENDING.value,
            )
        ) or 0

    def list_active(
        self,
        *,
        limit: int,
        offset: int,
        job_ids: Sequence[str] | None = None,
        own_user_id: str | None = None,
        job_id: str | None = None,
        approval_state: ApprovalState | None = None,
        user_id: str | None = None,
        interval: str | None = None,
    ) -> Page[ScheduledJobRecord]:
        """Pending and active scheduled jobs, soonest next run first (denied, cancelled and finished ones are left
        out, unless ``approval_state`` asks for the denied or expired ones); those waiting for approval (no next run)
        come last, by start.

        ``job_ids`` limits them to those jobs (None: every job), except that the scheduled jobs of ``own_user_id``
        are always shown; ``job_id``, ``approval_state``, ``user_id`` and ``interval`` filter.
        """
        query = select(ScheduledJobRow)
        if approval_state not in (ApprovalState.DENIED, ApprovalState.EXPIRED):  # ended, kept for the record
            query = query.where(ScheduledJobRow.enabled)
        if interval is not None:
            query = query.where(ScheduledJobRow.interval == interval)
        if job_ids is not None:
            query = query.where(_visible(job_ids, own_user_id))
        if job_id is not None:
            query = query.where(ScheduledJobRow.job_id == job_id)
        if approval_state is not None:
            query = query.where(ScheduledJobRow.approval_state == approval_state.value)
        if user_id is not None:
            query = query.where(ScheduledJobRow.user_id == user_id)
        return self._page(
            query, limit=limit, offset=offset,
            order=(ScheduledJobRow.next_run_at.is_(None), ScheduledJobRow.next_run_at, ScheduledJobRow.start_time,
                   ScheduledJobRow.id),
        )

    # -------------------------------------------------------------------------------------------- dispatching

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
        table = self._table()
        query = (select(table.c.id, table.c.next_run_at)
                 .where(table.c.id.in_([a.scheduled_job_id for a in advances]), table.c.enabled, ~table.c.paused))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.order_by(table.c.id).with_for_update()  # one lock order for every dispatcher: no deadlock
        current = {row_id: due for row_id, due in self.session.execute(query).all()}
        still = [a for a in advances
                 if a.scheduled_job_id in current and current[a.scheduled_job_id] == a.due_at]
        self.advance_many(still, now=now)
        return {a.scheduled_job_id for a in still}

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

    def recheck_run(
        self, scheduled_job_id: str, *, approved_job_version: str, now: datetime
    ) -> ScheduledJobRecord | None:
        """A worker refused a run approved for ``approved_job_version`` (it loaded other code): make the scheduled job
        due now, so the dispatcher checks its approval against the job's code again (a one-off that finished with
        that run is active again). None when it was decided again, cancelled or denied meanwhile."""
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.approval_state == ApprovalState.APPROVED.value,
            ScheduledJobRow.approved_job_version == approved_job_version,
            ScheduledJobRow.enabled | (ScheduledJobRow.end_reason == EndReason.FINISHED.value),
            enabled=True, end_reason=None, ended_at=None, ended_by_id=None, next_run_at=now, updated_at=now,
        )

    def advance_many(self, advances: Sequence[Advance], *, now: datetime) -> int:
        """Move scheduled jobs past the due times just handled, in one statement for the whole batch.

        Each row moves only if its ``next_run_at`` is still the due time handled (compare-and-set); a one-off
        without a next run finishes. Returns how many rows moved.
        """
        if not advances:
            return 0
        table = self._table()
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

    # ------------------------------------------------------------------------------------------ approval deadlines

    def list_approval_due(self, now: datetime, *, limit: int) -> list[ApprovalDue]:
        """Pending requests with an expiry, reminder or escalation due at ``now``, oldest first (by the partial index
        on ``approval_due_at``)."""
        rows = self.session.execute(
            select(ScheduledJobRow.id, ScheduledJobRow.approval_due_at, ScheduledJobRow.expires_at,
                   ScheduledJobRow.remind_at, ScheduledJobRow.escalate_at)
            .where(ScheduledJobRow.approval_due_at.is_not(None), ScheduledJobRow.approval_due_at <= now)
            .order_by(ScheduledJobRow.approval_due_at, ScheduledJobRow.id)
            .limit(limit)
        ).all()
        return [ApprovalDue(id=r[0], due_at=r[1],  # type: ignore[arg-type]  # not NULL: the query says so
                            expires_at=r[2], remind_at=r[3], escalate_at=r[4]) for r in rows]

    def earliest_approval_due(self) -> datetime | None:
        """When the approval loop next has something to do."""
        return self.session.scalar(
            select(func.min(ScheduledJobRow.approval_due_at)).where(ScheduledJobRow.approval_due_at.is_not(None))
        )

    def expire(self, scheduled_job_id: str, *, due_at: datetime, now: datetime) -> ScheduledJobRecord | None:
        """End a pending request as ``expired`` if it is still pending at the due time read (compare-and-set);
        None when someone decided, cancelled or another replica expired it first."""
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.approval_due_at == due_at,
            ScheduledJobRow.approval_state == ApprovalState.PENDING.value,
            ScheduledJobRow.enabled,
            approval_state=ApprovalState.EXPIRED.value, enabled=False, next_run_at=None,
            end_reason=EndReason.EXPIRED.value, ended_at=now, remind_at=None, escalate_at=None, approval_due_at=None,
            updated_at=now,
        )

    def advance_approval_due(
        self, due: ApprovalDue, *, remind_at: datetime | None, escalate_at: datetime | None, now: datetime
    ) -> bool:
        """Move a pending request past the reminder or escalation just handled (compare-and-set on the due time
        read): True for exactly one caller, whatever the number of replicas."""
        row = self.session.execute(
            update(ScheduledJobRow)
            .where(ScheduledJobRow.id == due.id, ScheduledJobRow.approval_due_at == due.due_at,
                   ScheduledJobRow.approval_state == ApprovalState.PENDING.value, ScheduledJobRow.enabled)
            .values(remind_at=remind_at, escalate_at=escalate_at,
                    approval_due_at=approval_due_at(due.expires_at, remind_at, escalate_at), updated_at=now)
            .returning(ScheduledJobRow.id)
            .execution_options(synchronize_session=False)
        ).first()
        return row is not None

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


def _visible(job_ids: Sequence[str], own_user_id: str | None) -> ColumnElement[bool]:
    """Scheduled jobs of the given jobs, or of ``own_user_id``."""
    of_jobs = ScheduledJobRow.job_id.in_(job_ids)
    return of_jobs if own_user_id is None else or_(of_jobs, ScheduledJobRow.user_id == own_user_id)


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
