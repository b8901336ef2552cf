"""Scheduled jobs: run requests with their schedule and approval state.

State changes that can race (decisions, cancel, pause, resume) are single conditional updates that return the row as
they wrote it (``UPDATE ... RETURNING``), or None when the condition no longer held: never read-then-write, and no
read-back. The dispatcher's due-time queries are in ``dispatch`` and the approval deadlines (expiry, reminders,
escalation) in ``approval_deadlines``, mixed in here. Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.domain.approval_rules import Vote
from bot.domain.approvals import ApprovalState
from bot.domain.records import EndReason, NewScheduledJob, Page, ScheduledJobRecord
from storage.models import ApprovalRow, JobRow, ScheduledJobRow
from storage.repositories._records import Returned, is_uuid, new_id, scheduled_job_record, scheduled_job_values
from storage.repositories.approval_deadlines import ApprovalDeadlines
from storage.repositories.dispatch import WAKEUP_CHANNEL, ScheduledJobDispatch

# The statements of approving, built once: on SQLite building a statement costs more than running it.
_BY_ID = (
    select(ScheduledJobRow, JobRow, ApprovalRow)
    .outerjoin(JobRow, ScheduledJobRow.job_id == JobRow.id)
    .outerjoin(ApprovalRow, ApprovalRow.scheduled_job_id == ScheduledJobRow.id)
    .where(ScheduledJobRow.id == bindparam("b_id"))
    # Conditional updates bypass the session, so always take the row as the database has it now.
    .execution_options(populate_existing=True)
)
_APPROVALS = ApprovalRow.__table__
assert isinstance(_APPROVALS, Table)
_ADD_APPROVAL = {
    dialect: insert_into(_APPROVALS)  # values: the execution's parameters
    .on_conflict_do_nothing(index_elements=["scheduled_job_id", "user_id"]).returning(_APPROVALS)
    for dialect, insert_into in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
_TABLE = ScheduledJobRow.__table__
assert isinstance(_TABLE, Table)
_PENDING_AND_ACTIVE = (_TABLE.c.id == bindparam("b_id"),
                       _TABLE.c.approval_state == ApprovalState.PENDING.value, _TABLE.c.enabled)
_DECIDE = update(_TABLE).where(*_PENDING_AND_ACTIVE).returning(_TABLE)  # SET: the execution's parameters
_DECIDE_AND_WAKE = (update(_TABLE).where(*_PENDING_AND_ACTIVE)
                    .returning(_TABLE, func.pg_notify(WAKEUP_CHANNEL, "")))  # evaluated for the row, sent at commit


class ScheduledJobRepository(ScheduledJobDispatch, ApprovalDeadlines):
    """The scheduled_jobs table."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The session's identity map holds rows weakly: the job rows read in this transaction are kept here, so a
        # write's RETURNING row finds its job in the session (no second SELECT; approving stays one read, one write).
        self._jobs_read: dict[str, JobRow] = {}
        # Likewise the approvals of the scheduled jobs read in this transaction (with those added since).
        self._approvals_read: dict[str, list[ApprovalRow | Returned]] = {}

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

    def _approvals(self, scheduled_job_ids: Sequence[str]) -> dict[str, list[ApprovalRow | Returned]]:
        """The approvals of these scheduled jobs, by scheduled job id (one query)."""
        found: dict[str, list[ApprovalRow | Returned]] = {}
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
        wake: bool = False,
    ) -> ScheduledJobRecord | None:
        """Record a decision if the request is still pending and active (compare-and-set).

        Args:
            end: end the scheduled job with it (a denial).
            approved_job_version: for an approval, the job's code version it is pinned to.
            wake: wake the dispatchers if it is recorded (an approval may make a run due), in the same statement
                (see :meth:`notify_wakeup`).

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
        wake = wake and self.session.get_bind().dialect.name == "postgresql"
        row = self.session.execute(_DECIDE_AND_WAKE if wake else _DECIDE, {"b_id": scheduled_job_id, **values}).first()
        return self._record(row) if row is not None else None

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

    # ----------------------------------------------------------------------------------------------- reading

    def get(self, scheduled_job_id: str) -> ScheduledJobRecord | None:
        """One scheduled job, also an ended one, with its approvals (one query); None when there is no such id."""
        if not is_uuid(scheduled_job_id):
            return None
        found = self.session.execute(_BY_ID, {"b_id": scheduled_job_id}).all()
        if not found:
            return None
        approvals: list[ApprovalRow | Returned] = [r[2] for r in found if r[2] is not None]
        self._approvals_read[scheduled_job_id] = approvals
        return scheduled_job_record(found[0][0], self._keep(found[0][1]), approvals)

    def lock_for_decision(self, scheduled_job_id: str) -> bool:
        """Hold the scheduled job's row until this transaction ends, so that approvals of one request are counted one
        after another (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's write transaction already keeps other writers
        out). Returns whether it took a lock (then what was read of the row before may be out of date)."""
        if is_uuid(scheduled_job_id) and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(ScheduledJobRow.id).where(ScheduledJobRow.id == scheduled_job_id).with_for_update()
            )
            return True
        return False

    def add_approval(
        self, scheduled_job_id: str, *, user_id: str, at: datetime, comment: str | None, job_version: str | None = None
    ) -> Vote | None:
        """Record one approval of a request; returns it, or None when that user had already approved it (nothing
        changes).

        It is added to the approvals read with the request in this transaction, not read again: where approvals count
        towards a quorum the row is held (:meth:`lock_for_decision`), so nobody else adds one meanwhile; where one
        approval decides, a concurrent approver loses the compare-and-set of the decision and adds nothing.
        """
        values = {"scheduled_job_id": scheduled_job_id, "user_id": user_id, "approved_at": at, "comment": comment,
                  "job_version": job_version}
        row = self.session.execute(_ADD_APPROVAL[self.session.get_bind().dialect.name], values).first()
        if row is None:
            return None
        known = self._approvals_read.get(scheduled_job_id)
        if known is not None:
            known.append(row)
        return Vote(row.user_id, row.approved_at, row.comment, row.job_version)

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


def _visible(job_ids: Sequence[str], own_user_id: str | None) -> ColumnElement[bool]:
    """Scheduled jobs of the given jobs, or of ``own_user_id``."""
    of_jobs = ScheduledJobRow.job_id.in_(job_ids)
    return of_jobs if own_user_id is None else or_(of_jobs, ScheduledJobRow.user_id == own_user_id)

