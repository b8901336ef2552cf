"""Repositories: the only SQL in jobgate. Rows in, domain records out.

Each repository works inside a session that ``storage.db.Database`` opened; the caller owns the transaction.
State changes that can race (decisions, cancel, pause) are conditional updates that report whether they won:
never read-then-write. Must not import Slack or handlers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, Select, String, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.approvals import ApprovalState
from bot.domain.records import JobRecord, JobResultRecord, LogRecord, Page, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from storage.models import ApiToken, AuditEvent, Job, JobLogEntry, JobResult, OutboxEntry, ScheduledJob
from storage.types import UTCDateTime

WAKEUP_CHANNEL = "jobgate_wakeup"


def new_id() -> str:
    return str(uuid.uuid4())


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------------------------ rows → records


def job_record(row: Job) -> JobRecord:
    return JobRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        module_name=row.module_name,
        class_name=row.class_name,
        source=row.source,
        enabled=row.enabled,
        installed=row.installed,
        approval_required=row.approval_required,
        has_sensitive_variables=row.has_sensitive_variables,
        hidden=row.hidden,
        soft_time_limit=row.soft_time_limit,
        time_limit=row.time_limit,
        variables=dict(row.variables or {}),
    )


def scheduled_job_record(row: ScheduledJob, job: Job | None) -> ScheduledJobRecord:
    return ScheduledJobRecord(
        id=row.id,
        name=row.name,
        job=job_record(job) if job is not None else None,
        user_id=row.user_id,
        interval=IntervalType(row.interval),
        start_time=row.start_time,
        crontab=row.crontab,
        time_zone=row.time_zone,
        data=row.data,
        commit=row.commit,
        approval_required=row.approval_required,
        approval_state=ApprovalState(row.approval_state),
        decided_by_id=row.decided_by_id,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        enabled=row.enabled,
        paused=row.paused,
        end_reason=row.end_reason,
        ended_at=row.ended_at,
        ended_by_id=row.ended_by_id,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        total_run_count=row.total_run_count,
        created_at=row.created_at,
    )


def job_result_record(row: JobResult, job: Job | None, log: Iterable[JobLogEntry] = ()) -> JobResultRecord:
    return JobResultRecord(
        id=row.id,
        job=job_record(job) if job is not None else None,
        name=row.name,
        user_id=row.user_id,
        approved_by_id=row.approved_by_id,
        status=JobResultStatus(row.status),
        dry_run=row.dry_run,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        scheduled_job_id=row.scheduled_job_id,
        scheduled_for=row.scheduled_for,
        error=row.error,
        log=tuple(LogRecord(logged_at=e.logged_at, level=e.level, message=e.message, obj=e.obj) for e in log),
    )


@dataclass(frozen=True, kw_only=True)
class DueScheduledJob:
    """A due scheduled job, as the dispatcher needs it."""

    id: str
    job_id: str | None
    job_name: str
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
    misfire_policy: str


@dataclass(frozen=True, kw_only=True)
class Advance:
    """How the dispatcher moves one scheduled job past a due time it handled."""

    scheduled_job_id: str
    due_at: datetime
    next_run_at: datetime | None
    last_slot_at: datetime
    ran_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ClaimedJobResult:
    """A job result a runner has claimed, with what it needs to run it."""

    id: str
    job: JobRecord | None
    name: str
    user_id: str | None
    dry_run: bool
    data: dict[str, Any] | None
    scheduled_job_id: str | None
    scheduled_for: datetime | None
    created_at: datetime
    started_at: datetime
    scheduled_job_cancelled: bool = False


# -------------------------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True, kw_only=True)
class JobDefinition:
    """What discovery found for one job class, ready to be stored."""

    slug: str
    module_name: str
    class_name: str
    name: str
    description: str
    source: str
    approval_required: bool
    has_sensitive_variables: bool
    hidden: bool
    soft_time_limit: float | None
    time_limit: float | None
    variables: dict[str, Any]


@dataclass(frozen=True)
class SyncReport:
    """What a sync of discovered jobs changed in the jobs table (slugs)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    uninstalled: tuple[str, ...]
    reinstalled: tuple[str, ...]


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ident: str) -> JobRecord | None:
        """Find a job by UUID, slug or name (in that order)."""
        row = self._get_row(ident)
        return job_record(row) if row is not None else None

    def _get_row(self, ident: str) -> Job | None:
        if _is_uuid(ident):
            row = self.session.get(Job, ident)
            if row is not None:
                return row
        row = self.session.scalars(select(Job).where(Job.slug == ident)).first()
        if row is None:
            row = self.session.scalars(select(Job).where(Job.name == ident).order_by(Job.slug)).first()
        return row

    def list_all(self, *, include_uninstalled: bool = True) -> list[JobRecord]:
        query = select(Job).order_by(Job.slug)
        if not include_uninstalled:
            query = query.where(Job.installed)
        return [job_record(row) for row in self.session.scalars(query)]

    def set_enabled(self, ident: str, enabled: bool, *, now: datetime) -> JobRecord | None:
        row = self._get_row(ident)
        if row is None:
            return None
        row.enabled = enabled
        row.updated_at = now
        self.session.flush()
        return job_record(row)

    def sync(self, definitions: Sequence[JobDefinition], *, now: datetime) -> SyncReport:
        """Store what discovery found: new jobs start disabled; jobs whose code vanished are marked not installed."""
        existing = {row.slug: row for row in self.session.scalars(select(Job))}
        added: list[str] = []
        updated: list[str] = []
        reinstalled: list[str] = []
        for d in definitions:
            values = {
                "module_name": d.module_name,
                "class_name": d.class_name,
                "name": d.name,
                "description": d.description,
                "source": d.source,
                "approval_required": d.approval_required,
                "has_sensitive_variables": d.has_sensitive_variables,
                "hidden": d.hidden,
                "soft_time_limit": d.soft_time_limit,
                "time_limit": d.time_limit,
                "variables": d.variables,
            }
            row = existing.pop(d.slug, None)
            if row is None:
                self.session.add(Job(id=new_id(), slug=d.slug, enabled=False, installed=True,
                                     created_at=now, updated_at=now, **values))
                added.append(d.slug)
                continue
            if not row.installed:
                row.installed = True
                reinstalled.append(d.slug)
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                updated.append(d.slug)
            if changed or d.slug in reinstalled:
                row.updated_at = now
        uninstalled = []
        for slug, row in existing.items():
            if row.installed:
                row.installed = False
                row.updated_at = now
                uninstalled.append(slug)
        self.session.flush()
        return SyncReport(tuple(added), tuple(updated), tuple(uninstalled), tuple(reinstalled))


# ---------------------------------------------------------------------------------------------------- scheduled jobs


class ScheduledJobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, **values: Any) -> ScheduledJobRecord:
        """Insert a scheduled job; ``values`` are its column values (a new id is assigned)."""
        row = ScheduledJob(id=new_id(), **values)
        self.session.add(row)
        self.session.flush()
        job = self.session.get(Job, row.job_id) if row.job_id else None
        return scheduled_job_record(row, job)

    def get(self, scheduled_job_id: str) -> ScheduledJobRecord | None:
        if not _is_uuid(scheduled_job_id):
            return None
        found = self.session.execute(
            select(ScheduledJob, Job).outerjoin(Job, ScheduledJob.job_id == Job.id)
            .where(ScheduledJob.id == scheduled_job_id)
            # Conditional updates bypass the session, so always take the row as the database has it now.
            .execution_options(populate_existing=True)
        ).first()
        if found is None:
            return None
        return scheduled_job_record(found[0], found[1])

    def _page(self, query: Select[Any], *, limit: int, offset: int, order: Sequence[Any]) -> Page[ScheduledJobRecord]:
        count = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.add_columns(Job).outerjoin(Job, ScheduledJob.job_id == Job.id)
            .order_by(*order).limit(limit).offset(offset)
        ).all()
        return Page(count=count, items=[scheduled_job_record(r[0], r[1]) for r in rows])

    def list_queue(self, *, limit: int, offset: int, job_ids: Sequence[str] | None = None) -> Page[ScheduledJobRecord]:
        """The approval queue: pending and still active, oldest start first."""
        query = select(ScheduledJob).where(
            ScheduledJob.approval_state == ApprovalState.PENDING.value, ScheduledJob.enabled
        )
        if job_ids is not None:
            query = query.where(ScheduledJob.job_id.in_(job_ids))
        return self._page(query, limit=limit, offset=offset, order=(ScheduledJob.start_time, ScheduledJob.id))

    def list_active(
        self,
        *,
        limit: int,
        offset: int,
        job_ids: Sequence[str] | None = None,
        approval_state: str | None = None,
        user_id: str | None = None,
    ) -> Page[ScheduledJobRecord]:
        """Pending and active scheduled jobs (denied, cancelled and finished ones are left out)."""
        query = select(ScheduledJob).where(ScheduledJob.enabled)
        if job_ids is not None:
            query = query.where(ScheduledJob.job_id.in_(job_ids))
        if approval_state is not None:
            query = query.where(ScheduledJob.approval_state == approval_state)
        if user_id is not None:
            query = query.where(ScheduledJob.user_id == user_id)
        return self._page(
            query, limit=limit, offset=offset,
            order=(ScheduledJob.next_run_at.is_(None), ScheduledJob.next_run_at, ScheduledJob.start_time,
                   ScheduledJob.id),
        )

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
    ) -> bool:
        """Record a decision if the request is still pending and active. Returns False when someone else won."""
        values: dict[str, Any] = {
            "approval_state": approval_state.value,
            "decided_by_id": decided_by_id,
            "decided_at": decided_at,
            "decision_reason": reason,
            "next_run_at": next_run_at,
            "updated_at": decided_at,
            "version": ScheduledJob.version + 1,
        }
        if end:
            values.update(enabled=False, end_reason="denied", ended_at=decided_at, ended_by_id=decided_by_id)
        result = self.session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.id == scheduled_job_id,
                ScheduledJob.approval_state == ApprovalState.PENDING.value,
                ScheduledJob.enabled,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def end(self, scheduled_job_id: str, *, reason: str, ended_by_id: str | None, now: datetime) -> bool:
        """End an active scheduled job (kept for the record). Returns False when it had already ended."""
        result = self.session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == scheduled_job_id, ScheduledJob.enabled)
            .values(enabled=False, next_run_at=None, end_reason=reason, ended_at=now, ended_by_id=ended_by_id,
                    updated_at=now, version=ScheduledJob.version + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def set_paused(self, scheduled_job_id: str, *, paused: bool, next_run_at: datetime | None, now: datetime) -> bool:
        """Pause or resume an active scheduled job. Returns False when it was already in that state or ended."""
        values: dict[str, Any] = {"paused": paused, "updated_at": now, "version": ScheduledJob.version + 1}
        if not paused:
            values["next_run_at"] = next_run_at
        result = self.session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == scheduled_job_id, ScheduledJob.enabled, ScheduledJob.paused == (not paused))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def lock_due(self, now: datetime, *, limit: int) -> list[DueScheduledJob]:
        """Active scheduled jobs due at ``now``, oldest first, locked for this transaction.

        PostgreSQL skips rows another dispatcher holds (``FOR UPDATE SKIP LOCKED``); SQLite's write transaction
        (``BEGIN IMMEDIATE``) already keeps other writers out.
        """
        query = (
            select(ScheduledJob)
            .where(ScheduledJob.enabled, ~ScheduledJob.paused, ScheduledJob.next_run_at.is_not(None),
                   ScheduledJob.next_run_at <= now)
            .order_by(ScheduledJob.next_run_at, ScheduledJob.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(query))
        names = dict(self.session.execute(
            select(Job.id, Job.name).where(Job.id.in_({r.job_id for r in rows if r.job_id}))
        ).all())
        return [
            DueScheduledJob(
                id=r.id, job_id=r.job_id, job_name=names.get(r.job_id or "", r.name), user_id=r.user_id,
                decided_by_id=r.decided_by_id, interval=IntervalType(r.interval), start_time=r.start_time,
                crontab=r.crontab, time_zone=r.time_zone, name=r.name, data=r.data, commit=r.commit,
                next_run_at=r.next_run_at, misfire_policy=r.misfire_policy,  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def advance_many(self, advances: Sequence[Advance], *, now: datetime) -> int:
        """Move scheduled jobs past the due times just handled, in one statement for the whole batch.

        Each row moves only if its ``next_run_at`` is still the due time handled (compare-and-set); a one-off
        without a next run finishes. Returns how many rows moved.
        """
        if not advances:
            return 0
        table = ScheduledJob.__table__
        assert isinstance(table, Table)
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
                version=table.c.version + 1,
            )
        )
        params = [
            {
                "b_id": a.scheduled_job_id, "b_due": a.due_at, "b_next": a.next_run_at, "b_slot": a.last_slot_at,
                "b_ran": a.ran_at, "b_runs": 0 if a.ran_at is None else 1, "b_enabled": a.next_run_at is not None,
                "b_end": None if a.next_run_at is not None else "finished",
                "b_ended": None if a.next_run_at is not None else now, "b_now": now,
            }
            for a in advances
        ]
        result = self.session.connection().execute(stmt, params)
        return result.rowcount

    def database_now(self) -> datetime:
        """The database's clock (PostgreSQL): every replica then agrees on what is due."""
        value = self.session.scalar(select(func.clock_timestamp()))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def earliest_due(self) -> datetime | None:
        """The earliest ``next_run_at`` of any active scheduled job (the dispatcher sleeps until then)."""
        return self.session.scalar(
            select(func.min(ScheduledJob.next_run_at))
            .where(ScheduledJob.enabled, ~ScheduledJob.paused, ScheduledJob.next_run_at.is_not(None))
        )

    def notify_wakeup(self) -> None:
        """Wake every dispatcher listening on PostgreSQL; delivered only if this transaction commits."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_notify(WAKEUP_CHANNEL, "")))


# ------------------------------------------------------------------------------------------------------- job results


class JobResultRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, **values: Any) -> JobResultRecord:
        """Insert a job result; ``values`` are its column values (a new id is assigned)."""
        row = JobResult(id=new_id(), **values)
        self.session.add(row)
        self.session.flush()
        job = self.session.get(Job, row.job_id) if row.job_id else None
        return job_result_record(row, job)

    def get(self, job_result_id: str, *, with_log: bool = True) -> JobResultRecord | None:
        if not _is_uuid(job_result_id):
            return None
        found = self.session.execute(
            select(JobResult, Job).outerjoin(Job, JobResult.job_id == Job.id).where(JobResult.id == job_result_id)
        ).first()
        if found is None:
            return None
        log = self._log(job_result_id) if with_log else ()
        return job_result_record(found[0], found[1], log)

    def _log(self, job_result_id: str) -> Sequence[JobLogEntry]:
        return self.session.scalars(
            select(JobLogEntry).where(JobLogEntry.job_result_id == job_result_id).order_by(JobLogEntry.id)
        ).all()

    def list_page(
        self,
        *,
        limit: int,
        offset: int,
        job_ids: Sequence[str] | None = None,
        scheduled_job_id: str | None = None,
        user_id: str | None = None,
    ) -> Page[JobResultRecord]:
        query = select(JobResult)
        if job_ids is not None:
            query = query.where(JobResult.job_id.in_(job_ids))
        if scheduled_job_id is not None:
            query = query.where(JobResult.scheduled_job_id == scheduled_job_id)
        if user_id is not None:
            query = query.where(or_(JobResult.user_id == user_id))
        count = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.add_columns(Job).outerjoin(Job, JobResult.job_id == Job.id)
            .order_by(JobResult.created_at.desc(), JobResult.id).limit(limit).offset(offset)
        ).all()
        ids = [r[0].id for r in rows]
        logs: dict[str, list[JobLogEntry]] = {i: [] for i in ids}
        if ids:
            for entry in self.session.scalars(
                select(JobLogEntry).where(JobLogEntry.job_result_id.in_(ids)).order_by(JobLogEntry.id)
            ):
                logs[entry.job_result_id].append(entry)
        return Page(count=count, items=[job_result_record(r[0], r[1], logs[r[0].id]) for r in rows])

    def add_log(self, job_result_id: str, *, logged_at: datetime, level: str, message: str, obj: str | None) -> None:
        self.session.add(JobLogEntry(job_result_id=job_result_id, logged_at=logged_at, level=level,
                                     message=message, obj=obj))


    def insert_slots(self, values: Sequence[dict[str, Any]]) -> int:
        """Insert job results for due times; a due time that already has one is left alone. Returns how many."""
        if not values:
            return 0
        rows = [{"id": new_id(), **v} for v in values]
        dialect = self.session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_(JobResult).on_conflict_do_nothing(index_elements=["scheduled_job_id", "scheduled_for"])
        result = self.session.execute(stmt.returning(JobResult.id), rows)
        return len(result.all())

    def claim(
        self,
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta,
        limit: int,
        pinned_only: bool = False,
    ) -> list[ClaimedJobResult]:
        """Claim pending job results for ``owner`` (compare-and-set pending → running) and return them.

        A result pinned to an owner (a job with sensitive variables, whose data lives only in that process's
        memory) is claimed only by that owner; ``pinned_only`` claims nothing else (a web-only replica).
        """
        mine = JobResult.owner == owner
        candidates = (
            select(JobResult.id)
            .where(JobResult.status == JobResultStatus.PENDING.value,
                   mine if pinned_only else or_(JobResult.owner.is_(None), mine))
            .order_by(JobResult.created_at, JobResult.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(self.session.scalars(candidates))
        if not ids:
            return []
        now = clock()  # read once the write lock is held: started_at is when the run really became ours
        claimed = self.session.execute(
            update(JobResult)
            .where(JobResult.id.in_(ids), JobResult.status == JobResultStatus.PENDING.value)
            .values(status=JobResultStatus.RUNNING.value, owner=owner, started_at=now, lease_expires_at=now + lease)
            .returning(JobResult.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        found = self.session.execute(
            select(JobResult, Job, ScheduledJob.end_reason)
            .outerjoin(Job, JobResult.job_id == Job.id)
            .outerjoin(ScheduledJob, JobResult.scheduled_job_id == ScheduledJob.id)
            .where(JobResult.id.in_(claimed))
            .order_by(JobResult.created_at, JobResult.id)
        ).all()
        return [
            ClaimedJobResult(
                id=r.id, job=job_record(j) if j is not None else None, name=r.name, user_id=r.user_id,
                dry_run=r.dry_run, data=r.data, scheduled_job_id=r.scheduled_job_id, scheduled_for=r.scheduled_for,
                created_at=r.created_at, started_at=now, scheduled_job_cancelled=end_reason == "cancelled",
            )
            for r, j, end_reason in found
        ]

    def renew_leases(self, ids: Sequence[str], *, owner: str, lease_until: datetime) -> int:
        """Extend the leases ``owner`` still holds; returns how many it still holds."""
        if not ids:
            return 0
        result = self.session.execute(
            update(JobResult)
            .where(JobResult.id.in_(ids), JobResult.owner == owner,
                   JobResult.status == JobResultStatus.RUNNING.value)
            .values(lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    def complete(
        self, job_result_id: str, *, owner: str, status: JobResultStatus, now: datetime, error: str | None = None
    ) -> bool:
        """Record the outcome of a run, only if ``owner`` still holds it (a run presumed dead cannot overwrite)."""
        result = self.session.execute(
            update(JobResult)
            .where(JobResult.id == job_result_id, JobResult.owner == owner,
                   JobResult.status == JobResultStatus.RUNNING.value)
            .values(status=status.value, completed_at=now, lease_expires_at=None, error=error)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def fail_expired(self, *, now: datetime, error: str) -> list[JobResultRecord]:
        """Mark every result whose lease expired as ``errored`` with ``error``; returns them."""
        ids = self.session.execute(
            update(JobResult)
            .where(JobResult.status.in_([JobResultStatus.PENDING.value, JobResultStatus.RUNNING.value]),
                   JobResult.lease_expires_at.is_not(None), JobResult.lease_expires_at < now)
            .values(status=JobResultStatus.ERRORED.value, completed_at=now, lease_expires_at=None, error=error)
            .returning(JobResult.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        return [r for r in (self.get(i, with_log=False) for i in ids) if r is not None]

    def fail_owned(self, *, owner: str, now: datetime, error: str) -> list[JobResultRecord]:
        """Mark every unfinished result ``owner`` holds as ``errored`` (graceful shutdown); returns them."""
        ids = self.session.execute(
            update(JobResult)
            .where(JobResult.owner == owner,
                   JobResult.status.in_([JobResultStatus.PENDING.value, JobResultStatus.RUNNING.value]))
            .values(status=JobResultStatus.ERRORED.value, completed_at=now, lease_expires_at=None, error=error)
            .returning(JobResult.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        return [r for r in (self.get(i, with_log=False) for i in ids) if r is not None]

    def owners_of_unfinished(self, owner_prefix: str) -> dict[str, str]:
        """Unfinished results held by owners whose name starts with ``owner_prefix``: id → owner."""
        rows = self.session.execute(
            select(JobResult.id, JobResult.owner)
            .where(JobResult.status.in_([JobResultStatus.PENDING.value, JobResultStatus.RUNNING.value]),
                   JobResult.owner.startswith(owner_prefix, autoescape=True))
        ).all()
        return {r[0]: r[1] for r in rows if r[1] is not None}

    def fail_unfinished(self, ids: Sequence[str], *, owner: str, now: datetime, error: str) -> list[JobResultRecord]:
        """Mark the given unfinished results of ``owner`` as ``errored``; returns those it changed."""
        if not ids:
            return []
        changed = self.session.execute(
            update(JobResult)
            .where(JobResult.id.in_(ids), JobResult.owner == owner,
                   JobResult.status.in_([JobResultStatus.PENDING.value, JobResultStatus.RUNNING.value]))
            .values(status=JobResultStatus.ERRORED.value, completed_at=now, lease_expires_at=None, error=error)
            .returning(JobResult.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        return [r for r in (self.get(i, with_log=False) for i in changed) if r is not None]

    def count_by_status(self) -> dict[str, int]:
        return dict(self.session.execute(
            select(JobResult.status, func.count()).group_by(JobResult.status)
        ).all())


# ------------------------------------------------------------------------------------------ tokens, outbox and audit


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, key_hash: str, key_prefix: str, user_id: str, description: str, now: datetime) -> str:
        token_id = new_id()
        self.session.add(ApiToken(id=token_id, key_hash=key_hash, key_prefix=key_prefix, user_id=user_id,
                                  description=description, created_at=now))
        return token_id

    def user_for_hash(self, key_hash: str, *, now: datetime) -> str | None:
        """The Slack user ID a token hash belongs to, if the token is valid now."""
        row = self.session.scalars(select(ApiToken).where(ApiToken.key_hash == key_hash)).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return row.user_id

    def touch(self, key_hash: str, *, now: datetime) -> None:
        self.session.execute(update(ApiToken).where(ApiToken.key_hash == key_hash).values(last_used_at=now))


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        channel: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        ref_type: str | None = None,
        ref_id: str | None = None,
    ) -> None:
        self.session.add(OutboxEntry(created_at=now, channel=channel, kind=kind, payload=payload,
                                     ref_type=ref_type, ref_id=ref_id, status="pending", attempts=0,
                                     next_attempt_at=now))

    def list_for(self, ref_type: str, ref_id: str) -> list[OutboxEntry]:
        return list(self.session.scalars(
            select(OutboxEntry).where(OutboxEntry.ref_type == ref_type, OutboxEntry.ref_id == ref_id)
            .order_by(OutboxEntry.id)
        ))

    # --- delivery (the notifier): claim one entry at a time, call Slack outside any transaction, then mark it ---

    UNDELIVERED = ("pending", "sending")

    def heads_due(self, *, now: datetime, limit: int) -> list[OutboxEntry]:
        """The oldest undelivered entry of each channel, when it may be tried now (order is kept per channel).

        An entry is tried when it is ``pending`` and its ``next_attempt_at`` has come, or ``sending`` and its claim
        (lease) has expired because the process sending it stopped.
        """
        older = OutboxEntry.__table__.alias("older")
        first_of_channel = ~select(older.c.id).where(
            older.c.channel == OutboxEntry.channel, older.c.status.in_(self.UNDELIVERED), older.c.id < OutboxEntry.id
        ).exists()
        return list(self.session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.status.in_(self.UNDELIVERED), OutboxEntry.next_attempt_at <= now, first_of_channel)
            .order_by(OutboxEntry.id)
            .limit(limit)
        ))

    def claim(self, entry_id: int, *, now: datetime, lease_until: datetime) -> bool:
        """Take an entry for sending until ``lease_until`` (compare-and-set); False when another sender has it."""
        result = self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status.in_(self.UNDELIVERED),
                   OutboxEntry.next_attempt_at <= now)
            .values(status="sending", next_attempt_at=lease_until, attempts=OutboxEntry.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def mark_sent(self, entry_id: int, *, now: datetime, message_channel: str | None, message_ts: str | None) -> bool:
        """Record delivery and the Slack message it created, in one step."""
        result = self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "sending")
            .values(status="sent", sent_at=now, message_channel=message_channel, message_ts=message_ts, error=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def mark_progress(self, entry_id: int, *, message_channel: str, message_ts: str, next_attempt_at: datetime) -> bool:
        """Record the first message of a two-message delivery (a result, then its log in the thread) and release
        the entry, so the next attempt sends only what is left."""
        result = self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "sending")
            .values(status="pending", message_channel=message_channel, message_ts=message_ts,
                    next_attempt_at=next_attempt_at, error=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def retry_later(self, entry_id: int, *, next_attempt_at: datetime, error: str) -> None:
        """Release a claimed entry to be tried again at ``next_attempt_at``."""
        self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "sending")
            .values(status="pending", next_attempt_at=next_attempt_at, error=error[:2000])
            .execution_options(synchronize_session=False)
        )

    def mark_failed(self, entry_id: int, *, now: datetime, error: str) -> None:
        """Give up on an entry Slack refuses for good (unknown channel, invalid message); it stays for the record."""
        self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "sending")
            .values(status="failed", sent_at=now, error=error[:2000])
            .execution_options(synchronize_session=False)
        )

    def expand(self, entry_id: int, *, children: Sequence[tuple[str, dict[str, Any]]], now: datetime) -> bool:
        """Replace a claimed entry by one entry per ``(channel, payload)`` (a user group's members, several
        threads), of the same kind and reference, in one step. False when the claim was lost."""
        entry = self.session.get(OutboxEntry, entry_id)
        result = self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "sending")
            .values(status="expanded", sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1 or entry is None:  # type: ignore[attr-defined]
            return False
        for channel, payload in children:
            self.add(channel=channel, kind=entry.kind, payload=payload, now=now, ref_type=entry.ref_type,
                     ref_id=entry.ref_id)
        return True

    def delivered(self, ref_type: str, ref_id: str, *, kind: str) -> list[OutboxEntry]:
        """Sent entries of ``kind`` for an object that created a Slack message, oldest first."""
        return list(self.session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.ref_type == ref_type, OutboxEntry.ref_id == ref_id, OutboxEntry.kind == kind,
                   OutboxEntry.status == "sent", OutboxEntry.message_ts.is_not(None))
            .order_by(OutboxEntry.id)
        ))

    def count_undelivered(self) -> int:
        """Entries still waiting to be delivered."""
        return self.session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status.in_(self.UNDELIVERED))
        ) or 0


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        actor_id: str | None,
        action: str,
        object_type: str,
        object_id: str | None,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(AuditEvent(created_at=now, actor_id=actor_id, action=action, object_type=object_type,
                                    object_id=object_id, detail=detail or {}))

    def list_for(self, object_type: str, object_id: str) -> list[AuditEvent]:
        return list(self.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        ))


class Repositories:
    """Every repository on one session: what a service uses inside its transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.jobs = JobRepository(session)
        self.scheduled_jobs = ScheduledJobRepository(session)
        self.job_results = JobResultRepository(session)
        self.tokens = TokenRepository(session)
        self.outbox = OutboxRepository(session)
        self.audit = AuditRepository(session)
