"""Job results: runs asked for and due times dispatched, their claims by runners, outcomes and logs.

Every status change is a conditional update allowed only from the statuses the domain's state machine lets move to
the target (``bot.domain.results.sources_of``). A run is held by one runner (``runner_id``) with a lease; only the
holder records its outcome, so a runner presumed dead can never overwrite it. The claims of the execution plane
(in batches, by id), group-committed outcomes and publishing to Celery are in ``job_claims``, mixed in here. Must not
import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Table, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.records import JobResultRecord, LogRecord, NewJobResult, Page
from bot.domain.results import UNFINISHED_STATUSES, JobResultStatus, can_transition
from bot.domain.schedules import IntervalType
from storage.models import JobLogEntryRow, JobResultRow, JobRow, ScheduledJobRow
from storage.repositories._records import is_uuid, job_result_record, job_result_values, new_id
from storage.repositories.job_claims import JobResultClaims, may_become


class JobResultRepository(JobResultClaims):
    """The job_results and job_log_entries tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ----------------------------------------------------------------------------------------------- writing

    def add(self, new: NewJobResult) -> JobResultRecord:
        """Store a new job result (a new id is assigned) and return it as stored."""
        table = JobResultRow.__table__
        assert isinstance(table, Table)
        row = self.session.execute(insert(table).returning(table), job_result_values(new, job_result_id=new_id())).one()
        job = self.session.get(JobRow, row.job_id) if row.job_id else None
        return job_result_record(row, job)

    def insert_slots(self, slots: Sequence[NewJobResult]) -> int:
        """Store the job results of due times; a due time that already has one is left alone. Returns how many."""
        if not slots:
            return 0
        rows = [job_result_values(slot, job_result_id=new_id()) for slot in slots]
        dialect = self.session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_(JobResultRow).on_conflict_do_nothing(index_elements=["scheduled_job_id", "scheduled_for"])
        result = self.session.execute(stmt.returning(JobResultRow.id), rows)
        return len(result.all())

    def add_slot(self, slot: NewJobResult) -> JobResultRecord | None:
        """Store the job result of one due time and return it; None when that due time already has one."""
        dialect = self.session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        table = JobResultRow.__table__
        assert isinstance(table, Table)
        stmt = insert_(table).on_conflict_do_nothing(index_elements=["scheduled_job_id", "scheduled_for"])
        row = self.session.execute(stmt.returning(table), job_result_values(slot, job_result_id=new_id())).first()
        if row is None:
            return None
        job = self.session.get(JobRow, row.job_id) if row.job_id else None
        return job_result_record(row, job)

    def add_log(self, job_result_id: str, entries: Sequence[LogRecord]) -> None:
        """Append lines to a job result's log."""
        for entry in entries:
            self.session.add(JobLogEntryRow(job_result_id=job_result_id, logged_at=entry.logged_at,
                                            level=entry.level, message=entry.message, obj=entry.obj))

    # ----------------------------------------------------------------------------------------------- reading

    def get(self, job_result_id: str, *, with_log: bool = True) -> JobResultRecord | None:
        """One job result, with its log unless ``with_log`` is False; None when there is no such id."""
        if not is_uuid(job_result_id):
            return None
        found = self.session.execute(
            select(JobResultRow, JobRow).outerjoin(JobRow, JobResultRow.job_id == JobRow.id)
            .where(JobResultRow.id == job_result_id)
        ).first()
        if found is None:
            return None
        log = self._log(job_result_id) if with_log else ()
        return job_result_record(found[0], found[1], log)

    def latest_dry_run(self, scheduled_job_id: str, *, log_lines: int) -> JobResultRecord | None:
        """The latest finished dry run of a request awaiting approval (asked for by an approver, not a due time), with
        its first ``log_lines`` log lines; None when none has finished."""
        if not is_uuid(scheduled_job_id):
            return None
        found = self.session.execute(
            select(JobResultRow, JobRow).outerjoin(JobRow, JobResultRow.job_id == JobRow.id)
            .where(JobResultRow.scheduled_job_id == scheduled_job_id, JobResultRow.dry_run,
                   JobResultRow.scheduled_for.is_(None), JobResultRow.completed_at.is_not(None),
                   JobResultRow.status.not_in([s.value for s in UNFINISHED_STATUSES]))
            .order_by(JobResultRow.completed_at.desc(), JobResultRow.id.desc())
            .limit(1)
        ).first()
        if found is None:
            return None
        log = self.session.scalars(
            select(JobLogEntryRow).where(JobLogEntryRow.job_result_id == found[0].id)
            .order_by(JobLogEntryRow.id).limit(log_lines)
        ).all()
        return job_result_record(found[0], found[1], log)

    def requests_dry_run(self, job_result_ids: Sequence[str]) -> dict[str, str]:
        """Of these job results, the dry runs of requests (not due times): job result id -> scheduled job id."""
        if not job_result_ids:
            return {}
        rows = self.session.execute(
            select(JobResultRow.id, JobResultRow.scheduled_job_id)
            .where(JobResultRow.id.in_(list(job_result_ids)), JobResultRow.dry_run,
                   JobResultRow.scheduled_job_id.is_not(None), JobResultRow.scheduled_for.is_(None))
        ).all()
        return {row[0]: str(row[1]) for row in rows}

    def approved_one_offs_run(self, job_result_ids: Sequence[str]) -> list[str]:
        """Of these job results, the runs (not dry runs) of one-off scheduled jobs that needed approval: the ids of
        those scheduled jobs, whose approval messages then say how the run went."""
        if not job_result_ids:
            return []
        rows = self.session.scalars(
            select(JobResultRow.scheduled_job_id).join(ScheduledJobRow,
                                                       ScheduledJobRow.id == JobResultRow.scheduled_job_id)
            .where(JobResultRow.id.in_(list(job_result_ids)), JobResultRow.dry_run.is_(False),
                   ScheduledJobRow.approval_required,
                   ScheduledJobRow.interval.in_([IntervalType.IMMEDIATELY.value, IntervalType.FUTURE.value]))
        ).all()
        return sorted({str(row) for row in rows})

    def latest_run(self, scheduled_job_id: str) -> JobResultRecord | None:
        """The latest run (not a dry run) of a scheduled job, without its log lines; None when it has none."""
        if not is_uuid(scheduled_job_id):
            return None
        page = self.list_page(limit=1, offset=0, scheduled_job_id=scheduled_job_id, dry_run=False)
        return page.items[0] if page.items else None

    def _log(self, job_result_id: str) -> Sequence[JobLogEntryRow]:
        return self.session.scalars(
            select(JobLogEntryRow).where(JobLogEntryRow.job_result_id == job_result_id).order_by(JobLogEntryRow.id)
        ).all()

    def list_page(
        self,
        *,
        limit: int,
        offset: int,
        job_ids: Sequence[str] | None = None,
        own_user_id: str | None = None,
        job_id: str | None = None,
        scheduled_job_id: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        dry_run: bool | None = None,
    ) -> Page[JobResultRecord]:
        """Job results, newest first, each with how many log lines it has but not the lines (``get`` has them).

        ``job_ids`` limits them to those jobs (None: every job), except that the results of ``own_user_id`` are
        always shown; ``job_id``, ``scheduled_job_id``, ``user_id``, ``status`` and ``dry_run`` filter.
        """
        query = select(JobResultRow)
        if status is not None:
            query = query.where(JobResultRow.status == status)
        if dry_run is not None:
            query = query.where(JobResultRow.dry_run == dry_run)
        if job_ids is not None:
            of_jobs = JobResultRow.job_id.in_(job_ids)
            query = query.where(of_jobs if own_user_id is None else or_(of_jobs, JobResultRow.user_id == own_user_id))
        if job_id is not None:
            query = query.where(JobResultRow.job_id == job_id)
        if scheduled_job_id is not None:
            query = query.where(JobResultRow.scheduled_job_id == scheduled_job_id)
        if user_id is not None:
            query = query.where(JobResultRow.user_id == user_id)
        count = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.add_columns(JobRow).outerjoin(JobRow, JobResultRow.job_id == JobRow.id)
            .order_by(JobResultRow.created_at.desc(), JobResultRow.id).limit(limit).offset(offset)
        ).all()
        ids = [r[0].id for r in rows]
        # One query for the page's log sizes (a page is at most MAX_PAGE results); the lines stay in the database.
        counts: dict[str, int] = {}
        if ids:
            for job_result_id, lines in self.session.execute(
                select(JobLogEntryRow.job_result_id, func.count())
                .where(JobLogEntryRow.job_result_id.in_(ids)).group_by(JobLogEntryRow.job_result_id)
            ):
                counts[job_result_id] = lines
        return Page(count=count, items=[job_result_record(r[0], r[1], log_count=counts.get(r[0].id, 0))
                                        for r in rows])

    def count_by_status(self) -> dict[JobResultStatus, int]:
        """How many job results there are in each status (statuses without any are left out)."""
        return {
            JobResultStatus(status): count
            for status, count in self.session.execute(
                select(JobResultRow.status, func.count()).group_by(JobResultRow.status)
            ).all()
        }

    # ------------------------------------------------------------------------------------ claims and outcomes

    def renew_leases(self, ids: Sequence[str], *, runner_id: str, lease_until: datetime) -> int:
        """Extend the leases ``runner_id`` still holds; returns how many it still holds."""
        if not ids:
            return 0
        result = self.session.execute(
            update(JobResultRow)
            .where(JobResultRow.id.in_(ids), JobResultRow.runner_id == runner_id,
                   JobResultRow.status == JobResultStatus.RUNNING.value)
            .values(lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    def complete(
        self, job_result_id: str, *, runner_id: str, status: JobResultStatus, now: datetime, error: str | None = None
    ) -> bool:
        """Record the outcome of a run ``runner_id`` holds (a run presumed dead cannot overwrite it).

        Returns:
            False when the run is no longer held by ``runner_id`` (reaped, or never claimed by it).

        Raises:
            ValueError: ``status`` is not an outcome of a running job result.
        """
        if not (status.is_final and can_transition(JobResultStatus.RUNNING, status)):
            raise ValueError(f"a running job result cannot become {status.value}")
        result = self.session.execute(
            update(JobResultRow)
            .where(JobResultRow.id == job_result_id, JobResultRow.runner_id == runner_id,
                   JobResultRow.status == JobResultStatus.RUNNING.value)
            .values(status=status.value, completed_at=now, lease_expires_at=None, error=error)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def _fail(self, *where: ColumnElement[bool], now: datetime, error: str) -> list[JobResultRecord]:
        """Mark the unfinished job results matching ``where`` as ``errored`` with ``error``; returns them.

        Runs claimed with a Celery message of several runs but not started yet go back to ``pending`` instead: they
        never ran, so they are published again and run elsewhere, once.
        """
        self.give_back_unstarted(*where)
        ids = self.session.execute(
            update(JobResultRow)
            .where(may_become(JobResultStatus.ERRORED), *where)
            .values(status=JobResultStatus.ERRORED.value, completed_at=now, lease_expires_at=None, error=error)
            .returning(JobResultRow.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        return [r for r in (self.get(i, with_log=False) for i in ids) if r is not None]

    def fail_expired(
        self, *, now: datetime, error: str, except_runner_id: str | None = None
    ) -> list[JobResultRecord]:
        """Mark every result whose lease expired (its runner stopped) as ``errored`` with ``error``; returns them.

        ``except_runner_id``: the results this runner holds are left alone (it decides about its own).
        """
        spared = () if except_runner_id is None else (
            or_(JobResultRow.runner_id.is_(None), JobResultRow.runner_id != except_runner_id),)
        return self._fail(JobResultRow.lease_expires_at.is_not(None), JobResultRow.lease_expires_at < now, *spared,
                          now=now, error=error)

    def expired_of(self, runner_id: str, *, now: datetime) -> list[str]:
        """The unfinished results ``runner_id`` holds whose lease expired."""
        return list(self.session.scalars(
            select(JobResultRow.id).where(
                JobResultRow.runner_id == runner_id, JobResultRow.lease_expires_at.is_not(None),
                JobResultRow.lease_expires_at < now,
                JobResultRow.status.in_(sorted(s.value for s in UNFINISHED_STATUSES)))
        ))

    def fail_held(self, *, runner_id: str, now: datetime, error: str) -> list[JobResultRecord]:
        """Mark every unfinished result ``runner_id`` holds as ``errored`` (graceful shutdown); returns them."""
        return self._fail(JobResultRow.runner_id == runner_id, now=now, error=error)

    def fail_unfinished(
        self, ids: Sequence[str], *, runner_id: str, now: datetime, error: str
    ) -> list[JobResultRecord]:
        """Mark the given unfinished results of ``runner_id`` as ``errored``; returns those it changed."""
        if not ids:
            return []
        return self._fail(JobResultRow.id.in_(ids), JobResultRow.runner_id == runner_id, now=now, error=error)

    def runners_of_unfinished(self, runner_prefix: str) -> dict[str, str]:
        """Unfinished results held by runners whose id starts with ``runner_prefix``: job result id → runner id."""
        rows = self.session.execute(
            select(JobResultRow.id, JobResultRow.runner_id)
            .where(JobResultRow.status.in_(sorted(s.value for s in UNFINISHED_STATUSES)),
                   JobResultRow.runner_id.startswith(runner_prefix, autoescape=True))
        ).all()
        return {r[0]: r[1] for r in rows if r[1] is not None}
