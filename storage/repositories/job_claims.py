"""Job results being run: claims (in batches, or one by id), group-committed outcomes, runs given back unstarted,
and their publishing to the Celery broker. Part of ``JobResultRepository`` (a mixin, so callers keep one repository).

A run is claimed by compare-and-set (pending → running, runner id, lease) and its outcome recorded only while that
runner still holds it. Must not import Slack or handlers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Label,
    Select,
    Table,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot.domain.records import EndReason, FinishedRun, JobRecord
from bot.domain.results import JobResultStatus, can_transition, sources_of
from storage.models import JobLogEntryRow, JobResultRow, JobRow, ScheduledJobRow
from storage.repositories._records import is_uuid, job_record


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
    job_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class ToPublish:
    """A pending job result handed to the Celery broker: its id and its job's ``Meta`` time limits."""

    id: str
    soft_time_limit: float | None
    time_limit: float | None


def _claim_statement(*where: ColumnElement[bool], postgresql: bool) -> Executable:
    """Pending → running for the job results matching ``where``, returning what a runner needs (with the job's row,
    in the same round trip, on PostgreSQL). Parameters: ``b_runner_id``, ``b_now``, ``b_lease_until``."""
    moment = JobResultRow.started_at.type
    claim = (
        update(JobResultRow)
        .where(*where, may_become(JobResultStatus.RUNNING))
        .values(status=JobResultStatus.RUNNING.value, runner_id=bindparam("b_runner_id"),
                started_at=bindparam("b_now", type_=moment), lease_expires_at=bindparam("b_lease_until", type_=moment),
                published_at=None)
        .returning(JobResultRow.id, JobResultRow.job_id, JobResultRow.name, JobResultRow.user_id,
                   JobResultRow.dry_run, JobResultRow.data, JobResultRow.scheduled_job_id,
                   JobResultRow.scheduled_for, JobResultRow.created_at, JobResultRow.job_version, _end_reason())
    )
    if not postgresql:
        return claim.execution_options(synchronize_session=False)
    claimed = claim.cte("claimed")  # the claim and its jobs in one round trip: the UPDATE as a CTE
    return select(claimed, JobRow).outerjoin(JobRow, JobRow.id == claimed.c.job_id)


def _table(row_class: Any) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


@functools.cache
def _claim_one_statement(postgresql: bool) -> Executable:
    """The claim of one job result by id (``b_id``), built once and in Core (no ORM loading): Celery pool processes
    claim one run at a time, and this is most of what they do besides the job. Never a run pinned to a process."""
    results = _table(JobResultRow)
    return _core_claim(results.c.id == bindparam("b_id"), started=True, postgresql=postgresql)


@functools.cache
def _claim_batch_statement(postgresql: bool) -> Executable:
    """The claim of the job results of one Celery message (``b_ids``, expanding) in one statement: pending → running
    for this runner, not yet started (``started_at`` stays NULL until the runner starts each run in turn). A run
    pinned to a process is never claimed this way."""
    results = _table(JobResultRow)
    return _core_claim(results.c.id.in_(bindparam("b_ids", expanding=True)), started=False, postgresql=postgresql)


def _core_claim(where: ColumnElement[bool], *, started: bool, postgresql: bool) -> Executable:
    """Pending → running for this runner (``b_runner_id``, lease until ``b_lease_until``) of the unpinned job results
    matching ``where``, in Core, returning what a runner needs; on PostgreSQL with the job's columns as
    ``j_<column>`` in the same round trip. ``started``: the runs start now (``b_now``), else ``started_at`` stays
    NULL until each is started."""
    results, jobs = _table(JobResultRow), _table(JobRow)
    moment = results.c.started_at.type
    claim = (
        update(results)
        .where(where, results.c.runner_id.is_(None), results.c.status == JobResultStatus.PENDING.value)
        .values(status=JobResultStatus.RUNNING.value, runner_id=bindparam("b_runner_id"),
                started_at=bindparam("b_now", type_=moment) if started else None,
                lease_expires_at=bindparam("b_lease_until", type_=moment), published_at=None)
        .returning(results.c.id, results.c.job_id, results.c.name, results.c.user_id, results.c.dry_run,
                   results.c.data, results.c.scheduled_job_id, results.c.scheduled_for, results.c.created_at,
                   results.c.job_version, _end_reason())
    )
    if not postgresql:
        return claim
    claimed = claim.cte("claimed")  # the claim and its jobs in one round trip
    return select(claimed, *[column.label(f"j_{column.name}") for column in jobs.c]).outerjoin(
        jobs, jobs.c.id == claimed.c.job_id)


def _end_reason() -> Label[Any]:
    """The end reason of the claimed job result's scheduled job (a run of a cancelled one is not run)."""
    results, scheduled = _table(JobResultRow), _table(ScheduledJobRow)
    return (select(scheduled.c.end_reason).where(scheduled.c.id == results.c.scheduled_job_id)
            .scalar_subquery().label("end_reason"))


def _job_from_labels(row: Any) -> JobRecord | None:
    """The job of a claimed row whose job columns came as ``j_<column>`` (None when the job was deleted)."""
    if row.j_id is None:
        return None
    return JobRecord(
        id=row.j_id, slug=row.j_slug, name=row.j_name, description=row.j_description, module_name=row.j_module_name,
        class_name=row.j_class_name, source=row.j_source, enabled=row.j_enabled, installed=row.j_installed,
        approval_required=row.j_approval_required, has_sensitive_variables=row.j_has_sensitive_variables,
        hidden=row.j_hidden, soft_time_limit=row.j_soft_time_limit, time_limit=row.j_time_limit,
        variables=dict(row.j_variables or {}), version=row.j_version or "",
    )


def _outcome(run: FinishedRun) -> dict[str, Any]:
    """The column values that record a run's outcome."""
    values: dict[str, Any] = {"status": run.status.value, "completed_at": run.completed_at, "error": run.error,
                              "output": run.output, "lease_expires_at": None}
    if run.started_at is not None:
        values["started_at"] = run.started_at
    return values


def may_become(target: JobResultStatus) -> ColumnElement[bool]:
    """The condition of a move to ``target``: the job result is in a status allowed to move there."""
    sources = sorted(s.value for s in sources_of(target))
    if len(sources) == 1:  # "= 'pending'": the form the status index serves best on every backend
        return JobResultRow.status == sources[0]
    return JobResultRow.status.in_(sources)


class JobResultClaims:
    """The claims and outcomes of job results (mixed into ``JobResultRepository``)."""

    session: Session

    def claim(
        self,
        *,
        runner_id: str,
        clock: Callable[[], datetime],
        lease: timedelta,
        limit: int,
        pinned_only: bool = False,
    ) -> list[ClaimedJobResult]:
        """Claim up to ``limit`` pending job results for ``runner_id``, oldest first, in one statement.

        The statement is a compare-and-set (pending → running, runner, lease) over the oldest pending results,
        skipping rows another runner is claiming (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write
        transaction is exclusive). A result pinned to a runner (a job with sensitive variables, whose data lives only
        in that process's memory) is claimed only by that runner; ``pinned_only`` claims nothing else (a web-only
        replica, or a Celery deployment's serving process).
        """
        mine = JobResultRow.runner_id == runner_id
        candidates = (
            select(JobResultRow.id)
            .where(may_become(JobResultStatus.RUNNING),
                   mine if pinned_only else or_(JobResultRow.runner_id.is_(None), mine))
            # Oldest first, in the status index's order: a tie-break on id would sort every pending row of a burst
            # (they share created_at) for each claim.
            .order_by(JobResultRow.created_at)
            .limit(limit)
        )
        return self._claim_where(self._among(candidates), runner_id=runner_id, now=clock(), lease=lease)

    def claim_one(
        self, job_result_id: str, *, runner_id: str, now: datetime, lease: timedelta
    ) -> ClaimedJobResult | None:
        """Claim one job result by id (compare-and-set pending → running); None when it is not pending any more.

        A result pinned to a runner is never claimed this way: only its own process has its data.
        """
        if not is_uuid(job_result_id):
            return None
        params = {"b_id": job_result_id, "b_runner_id": runner_id, "b_now": now, "b_lease_until": now + lease}
        row = self.session.execute(_claim_one_statement(self._is_postgresql), params).first()
        if row is None:
            return None
        if self._is_postgresql:
            job = _job_from_labels(row)
        else:
            job = self._jobs({row.job_id}).get(row.job_id) if row.job_id is not None else None
        return ClaimedJobResult(
            id=row.id, job=job, name=row.name, user_id=row.user_id, dry_run=row.dry_run, data=row.data,
            scheduled_job_id=row.scheduled_job_id, scheduled_for=row.scheduled_for, created_at=row.created_at,
            started_at=now, scheduled_job_cancelled=row.end_reason == EndReason.CANCELLED.value,
            job_version=row.job_version,
        )

    def claim_batch(
        self, job_result_ids: Sequence[str], *, runner_id: str, now: datetime, lease: timedelta
    ) -> list[ClaimedJobResult]:
        """Claim the job results of one message at once (compare-and-set pending → running), none started yet.

        Returns those that were pending, in the order of ``job_result_ids``; the others (run already, running
        elsewhere, a duplicated message) are left alone. Each is started in turn with ``start_claimed``; a claimed
        run never started goes back to ``pending`` if its runner dies (see ``JobResultRepository._fail``).
        """
        wanted = [i for i in dict.fromkeys(job_result_ids) if is_uuid(i)]
        if not wanted:
            return []
        params = {"b_ids": wanted, "b_runner_id": runner_id, "b_lease_until": now + lease}
        rows = self.session.execute(_claim_batch_statement(self._is_postgresql), params).all()
        if not rows:
            return []
        if self._is_postgresql:
            jobs = {r.job_id: job for r in rows if (job := _job_from_labels(r)) is not None}
        else:
            jobs = self._jobs({r.job_id for r in rows if r.job_id is not None})
        by_id = {
            r.id: ClaimedJobResult(
                id=r.id, job=jobs.get(r.job_id) if r.job_id is not None else None, name=r.name, user_id=r.user_id,
                dry_run=r.dry_run, data=r.data, scheduled_job_id=r.scheduled_job_id, scheduled_for=r.scheduled_for,
                created_at=r.created_at, started_at=now,
                scheduled_job_cancelled=r.end_reason == EndReason.CANCELLED.value, job_version=r.job_version,
            )
            for r in rows
        }
        return [by_id[i] for i in wanted if i in by_id]

    def start_claimed(self, job_result_id: str, *, runner_id: str, now: datetime, lease: timedelta) -> bool:
        """Mark a run claimed by ``claim_batch`` as started (its runner is about to run it); False when the runner no
        longer holds it (given back, or reaped, meanwhile): then it must not run."""
        table = _table(JobResultRow)
        started = self.session.execute(
            update(table)
            .where(table.c.id == job_result_id, table.c.runner_id == runner_id,
                   table.c.status == JobResultStatus.RUNNING.value, table.c.started_at.is_(None))
            .values(started_at=now, lease_expires_at=now + lease)
            .returning(table.c.id)
        ).first()
        return started is not None

    def give_back_unstarted(self, *where: ColumnElement[bool]) -> int:
        """Claimed runs matching ``where`` that never started go back to ``pending``, to be published and claimed
        again (their runner died or gave them up); returns how many."""
        result = self.session.execute(
            update(JobResultRow)
            .where(JobResultRow.status == JobResultStatus.RUNNING.value, JobResultRow.started_at.is_(None), *where)
            .values(status=JobResultStatus.PENDING.value, runner_id=None, lease_expires_at=None, published_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    def _claim_where(
        self, *where: ColumnElement[bool], runner_id: str, now: datetime, lease: timedelta
    ) -> list[ClaimedJobResult]:
        claim = _claim_statement(*where, postgresql=self._is_postgresql)
        return self._run_claim(claim, {"b_runner_id": runner_id, "b_now": now, "b_lease_until": now + lease}, now)

    def _run_claim(self, statement: Executable, params: dict[str, Any], now: datetime) -> list[ClaimedJobResult]:
        jobs: dict[str, JobRecord]
        if self._is_postgresql:
            found = self.session.execute(statement, params).all()
            rows = list(found)
            jobs = {r.job_id: job_record(r.JobRow) for r in found if r.JobRow is not None}
        else:
            rows = list(self.session.execute(statement, params).all())
            jobs = self._jobs({r.job_id for r in rows if r.job_id is not None})
        if not rows:
            return []
        claimed = [
            ClaimedJobResult(
                id=r.id, job=jobs.get(r.job_id) if r.job_id is not None else None, name=r.name, user_id=r.user_id,
                dry_run=r.dry_run, data=r.data, scheduled_job_id=r.scheduled_job_id, scheduled_for=r.scheduled_for,
                created_at=r.created_at, started_at=now,
                scheduled_job_cancelled=r.end_reason == EndReason.CANCELLED.value, job_version=r.job_version,
            )
            for r in rows
        ]
        return sorted(claimed, key=lambda c: (c.created_at, c.id))

    def _jobs(self, job_ids: set[str]) -> dict[str, JobRecord]:
        if not job_ids:
            return {}
        return {row.id: job_record(row) for row in self.session.scalars(select(JobRow).where(JobRow.id.in_(job_ids)))}

    def _among(self, candidates: Select[str]) -> ColumnElement[bool]:
        """``id IN (candidates)``, the candidates locked and skipped if locked by another transaction.

        On PostgreSQL the locking subquery is a materialized CTE: inside ``IN`` the planner may rescan it for each
        updated row, and a rescan skips the rows just updated and returns the next ones, past the ``LIMIT``.
        """
        if not self._is_postgresql:
            return JobResultRow.id.in_(candidates.scalar_subquery())
        locked = candidates.with_for_update(skip_locked=True).cte("candidates").prefix_with("MATERIALIZED")
        return JobResultRow.id.in_(select(locked.c.id))

    @property
    def _is_postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def finish(self, runs: Sequence[FinishedRun], *, runner_id: str) -> set[str]:
        """Record the outcomes of many runs at once (a group commit): status, times, error, output and log.

        Each outcome is recorded only if ``runner_id`` still holds its job result (running, not reaped): a runner
        presumed dead never overwrites what the reaper wrote.

        Returns:
            The ids of the job results whose outcome was recorded.
        """
        if not runs:
            return set()
        for run in runs:
            if not (run.status.is_final and can_transition(JobResultStatus.RUNNING, run.status)):
                raise ValueError(f"a running job result cannot finish as {run.status.value}")
        table = JobResultRow.__table__
        assert isinstance(table, Table)
        fenced = (table.c.runner_id == runner_id, table.c.status == JobResultStatus.RUNNING.value)
        if len(runs) == 1:  # one run (a Celery pool process): the fenced update says itself whether it won
            held = set(self.session.execute(
                update(table).where(table.c.id == runs[0].job_result_id, *fenced).values(**_outcome(runs[0]))
                .returning(table.c.id)
            ).scalars())
            self._add_logs(runs if held else [])
            return held
        held_query = select(JobResultRow.id).where(
            JobResultRow.id.in_([run.job_result_id for run in runs]), *fenced,
        )
        if self._is_postgresql:
            held_query = held_query.with_for_update()
        held = set(self.session.scalars(held_query))
        recorded = [run for run in runs if run.job_result_id in held]
        if not recorded:
            return held
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.runner_id == runner_id,
                   table.c.status == JobResultStatus.RUNNING.value)
            .values(status=bindparam("b_status"),
                    started_at=func.coalesce(bindparam("b_started_at", type_=table.c.started_at.type),
                                             table.c.started_at),
                    completed_at=bindparam("b_completed_at", type_=table.c.completed_at.type),
                    error=bindparam("b_error"), output=bindparam("b_output"), lease_expires_at=None),
            [{"b_id": run.job_result_id, "b_status": run.status.value, "b_started_at": run.started_at,
              "b_completed_at": run.completed_at, "b_error": run.error, "b_output": run.output} for run in recorded],
        )
        self._add_logs(recorded)
        return held

    def _add_logs(self, runs: Sequence[FinishedRun]) -> None:
        entries = [
            {"job_result_id": run.job_result_id, "logged_at": entry.logged_at, "level": entry.level,
             "message": entry.message, "obj": entry.obj}
            for run in runs for entry in run.log
        ]
        if entries:
            table = JobLogEntryRow.__table__
            assert isinstance(table, Table)
            self.session.execute(insert(table), entries)  # Core: one executemany, no per-row ORM bookkeeping

    def give_back(self, ids: Sequence[str], *, runner_id: str) -> int:
        """Return claimed runs that never started to ``pending`` (their server stopped first); returns how many."""
        if not ids:
            return 0
        result = self.session.execute(
            update(JobResultRow)
            .where(JobResultRow.id.in_(ids), JobResultRow.runner_id == runner_id, may_become(JobResultStatus.PENDING))
            .values(status=JobResultStatus.PENDING.value, runner_id=None, started_at=None, lease_expires_at=None,
                    published_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    def take_to_publish(self, *, now: datetime, limit: int, again_before: datetime | None = None) -> list[ToPublish]:
        """Take pending results for publishing to the Celery broker (compare-and-set on ``published_at``).

        Without ``again_before``: results never published (one replica takes each). With it: also those published
        before that instant and still pending (their message was lost: a broker restart, a crash before publishing).
        Results pinned to one process (sensitive) are never published.
        """
        pending = JobResultRow.status == literal(JobResultStatus.PENDING.value, literal_execute=True)
        not_yet = JobResultRow.published_at.is_(None)
        due = not_yet if again_before is None else or_(not_yet, JobResultRow.published_at < again_before)
        candidates = (
            select(JobResultRow.id)
            .where(pending, due, JobResultRow.runner_id.is_(None))
            .order_by(JobResultRow.created_at)
            .limit(limit)
        )
        rows = self.session.execute(
            update(JobResultRow)
            .where(self._among(candidates), pending)
            .values(published_at=now)
            .returning(JobResultRow.id, JobResultRow.job_id, JobResultRow.created_at)
            .execution_options(synchronize_session=False)
        ).all()
        jobs = self._jobs({r.job_id for r in rows if r.job_id is not None})
        handed = []
        for r in sorted(rows, key=lambda row: (row.created_at, row.id)):
            job = jobs.get(r.job_id) if r.job_id is not None else None
            handed.append(ToPublish(id=r.id, soft_time_limit=job.soft_time_limit if job else None,
                                    time_limit=job.time_limit if job else None))
        return handed

    def mark_unpublished(self, ids: Sequence[str]) -> int:
        """Forget the publishing of results whose publishing failed, so the next pass tries them again."""
        if not ids:
            return 0
        result = self.session.execute(
            update(JobResultRow)
            .where(JobResultRow.id.in_(ids), JobResultRow.status == JobResultStatus.PENDING.value)
            .values(published_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

