"""Run requests: asking to run a job now, later, on a schedule, or as a dry run.

One transaction per request: the job is looked up, the domain checks the request in Nautobot's order, and the scheduled
job or job result is written with its audit event and outbox entries. Must not import Slack or handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain import requests, schedule_names, schedules
from bot.domain.approval_rules import ApprovalTimes, past_due_redraw_at
from bot.domain.approvals import ApprovalState
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.errors import NotFoundError, PermissionDeniedError
from bot.domain.permissions import Actor, Perm
from bot.domain.records import JobRecord, JobResultRecord, NewJobResult, NewScheduledJob, ObjectType, ScheduledJobRecord
from bot.domain.schedules import IntervalType, Schedule
from bot.domain.variables import validate_data
from bot.services import activity
from bot.services.announcements import announce_approval_request
from bot.services.deps import ServiceDeps, job_facts
from storage.repositories import Repositories

SENSITIVE_HANDOVER = timedelta(minutes=10)
"""How long the data of a sensitive run waits in this process's memory for its executor before the run is errored."""


@dataclass(frozen=True, kw_only=True)
class ScheduleInput:
    """The schedule part of a run request, as the edge parsed it (times may be naive: read in ``time_zone``)."""

    interval: str | None
    name: str | None = None
    start_time: datetime | None = None
    crontab: str | None = None
    time_zone: str | None = None
    reason: str | None = None
    """Why the run is asked for (optional): kept on a scheduled job and shown to its approvers."""


@dataclass(frozen=True, kw_only=True)
class RequestOutcome:
    """What a run request created: a scheduled job or a job result, exactly one.

    ``transient_data`` carries the cleaned data of a job with sensitive variables to the executor in memory; it is
    never stored and must never be rendered.
    """

    scheduled_job: ScheduledJobRecord | None = None
    job_result: JobResultRecord | None = None
    needs_approval: bool = False
    transient_data: dict[str, Any] | None = field(default=None, repr=False)


class Requests:
    """Run requests.

    Args:
        deps: the database, policy, catalog and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def request_job(
        self,
        *,
        actor: Actor,
        job: str,
        data: object = None,
        commit: bool = True,
        schedule: ScheduleInput | None = None,
        time_zone: str | None = None,
        now: datetime | None = None,
    ) -> RequestOutcome:
        """Ask to run a job now, later, on a schedule, or as a dry run (``commit=False``).

        Nautobot's order of checks applies: permission, job visible, enabled, installed, sensitive variables, code
        present, schedule, data. A job with ``approval_required`` becomes a scheduled job awaiting approval (also
        when asked for immediately); a dry run never needs approval.

        Args:
            actor: who asks.
            job: the job's UUID, slug or name.
            data: the submitted variable values (validated against the job's variables).
            commit: False for a dry run.
            schedule: the schedule, or None for "now".
            time_zone: the requester's zone, used when the schedule names none (Slack passes the user's zone).
            now: the current instant.

        Raises:
            DomainError: a subclass naming why the request is refused; nothing is stored then.
        """
        deps = self._deps
        now = now or deps.clock()
        # Model-level permission comes before looking the job up, as in Nautobot (403 before 404).
        if not deps.policy.has_perm(actor, Perm.RUN_JOB):
            raise PermissionDeniedError("This user does not have permission to run jobs.")
        outcome: RequestOutcome | None = None
        try:
            with deps.db.write() as session:
                outcome = self._write_request(Repositories(session), actor=actor, job=job, data=data,
                                              commit=commit, schedule=schedule, time_zone=time_zone, now=now)
        except BaseException:
            if outcome is not None and outcome.job_result is not None:  # not committed: its data must not linger
                deps.handover.discard(outcome.job_result.id)
            raise
        if outcome.scheduled_job is not None:
            activity.requested_schedule(outcome.scheduled_job)
        if outcome.job_result is not None:
            activity.requested_run(outcome.job_result)
        if outcome.job_result is not None or (outcome.scheduled_job and outcome.scheduled_job.next_run_at):
            deps.wakeups()
        return outcome

    def _write_request(self, repos: Repositories, *, actor: Actor, job: str, data: object, commit: bool,
                       schedule: ScheduleInput | None, time_zone: str | None, now: datetime) -> RequestOutcome:
        deps = self._deps
        record = repos.jobs.get(job)
        if record is None:
            raise NotFoundError(f"Job {job!r} not found.")
        interval = schedules.parse_interval(schedule.interval if schedule else None)
        if schedule is not None:
            schedules.check_crontab_applies(interval, schedule.crontab)
        plan = requests.check_run_request(
            job_facts(deps, record), actor=actor, policy=deps.policy, interval=interval, dry_run=not commit
        )
        zone = (schedule.time_zone if schedule else None) or time_zone or deps.time_zone
        reason = requests.clean_reason(schedule.reason if schedule else None)
        validated: Schedule | None = None
        if plan.creates_scheduled_job:
            given = schedule or ScheduleInput(interval=IntervalType.IMMEDIATELY.value)
            validated = schedules.validate_schedule(
                interval=given.interval,
                name=given.name,
                start_time=given.start_time,
                crontab=given.crontab,
                time_zone=zone,
                now=now,
            )
        found = deps.catalog.get(record.slug)
        assert found is not None  # check_run_request refused a job whose code is missing
        cleaned = validate_data(found.info.variables, {} if data is None else data)
        if plan.needs_approval:
            pending = repos.scheduled_jobs.count_pending(actor.user_id, lock=True)
            requests.check_pending_limit(pending, limit=deps.max_pending_per_user)
        stored_data = None if record.has_sensitive_variables else cleaned
        if validated is not None:
            return self._create_scheduled_job(
                repos, actor=actor, job=record, schedule=validated, data=stored_data, commit=commit,
                needs_approval=plan.needs_approval, reason=reason, now=now,
            )
        return self._create_job_result(repos, actor=actor, job=record, data=cleaned, commit=commit, now=now)

    def _create_job_result(
        self, repos: Repositories, *, actor: Actor, job: JobRecord, data: dict[str, Any], commit: bool, now: datetime
    ) -> RequestOutcome:
        deps = self._deps
        sensitive = job.has_sensitive_variables
        result = repos.job_results.add(NewJobResult(
            job_id=job.id, name=job.name, user_id=actor.user_id, dry_run=not commit,
            data=None if sensitive else data, created_at=now,
            # Pinned to this process, whose memory holds the data; errored if it is not run in time.
            runner_id=deps.handover.runner_id if sensitive else None,
            lease_expires_at=now + SENSITIVE_HANDOVER if sensitive else None,
        ))
        repos.audit.add(AuditEvent(actor_id=actor.user_id, action=AuditAction.JOB_RUN,
                                   object_type=ObjectType.JOB_RESULT, object_id=result.id,
                                   detail={"job": job.slug, "dry_run": not commit}), now=now)
        repos.scheduled_jobs.notify_wakeup()
        if sensitive:  # last: a full hand-over refuses the request before anything is committed
            deps.handover.put(result.id, data, until=now + SENSITIVE_HANDOVER, now=now)
        return RequestOutcome(job_result=result, transient_data=data if sensitive else None)

    def _create_scheduled_job(
        self,
        repos: Repositories,
        *,
        actor: Actor,
        job: JobRecord,
        schedule: Schedule,
        data: dict[str, Any] | None,
        commit: bool,
        needs_approval: bool,
        reason: str | None,
        now: datetime,
    ) -> RequestOutcome:
        name = schedule.name or schedule_names.default_schedule_name(
            job.name, start=schedule.start_time, time_zone=schedule.time_zone, now=now)
        next_run = None if needs_approval else schedules.first_run_at(schedule)
        record = repos.scheduled_jobs.add(NewScheduledJob(
            name=name, job_id=job.id, user_id=actor.user_id, schedule=schedule, data=data, commit=commit,
            approval_required=needs_approval,
            approval_state=ApprovalState.PENDING if needs_approval else ApprovalState.NOT_REQUIRED,
            next_run_at=next_run, created_at=now, job_version=job.version or None, reason=reason,
            approval_times=(ApprovalTimes.for_request(
                self._deps.policy.approval_rule(job.ref), now,
                redraw_at=past_due_redraw_at(is_one_off_later=schedule.interval is IntervalType.FUTURE,
                                             start_time=schedule.start_time, now=now))
                            if needs_approval else ApprovalTimes()),
        ))
        repos.audit.add(AuditEvent(
            actor_id=actor.user_id, action=AuditAction.SCHEDULED_JOB_REQUEST, object_type=ObjectType.SCHEDULED_JOB,
            object_id=record.id,
            detail={"job": job.slug, "interval": schedule.interval.value, "needs_approval": needs_approval},
        ), now=now)
        if needs_approval:
            announce_approval_request(self._deps, repos, record, now=now)
        else:
            repos.scheduled_jobs.notify_wakeup()
        return RequestOutcome(scheduled_job=record, needs_approval=needs_approval)
