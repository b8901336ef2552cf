"""Managing what exists: cancel, pause and resume a scheduled job; enable and disable jobs; sync discovered jobs.

Each use case is one write transaction with its audit event and outbox entries. Must not import Slack or handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import requests, schedules
from bot.domain.approvals import ApprovalState
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.errors import NotFoundError
from bot.domain.outbox import OutboxKind
from bot.domain.permissions import Actor
from bot.domain.records import EndReason, JobRecord, ObjectType, ScheduledJobRecord
from bot.domain.variables.keys import KEY_MARK
from bot.registry import DiscoveredJob, LoadError
from bot.services import activity
from bot.services.announcements import announce_decision, tell_requester
from bot.services.decisions import record_denial
from bot.services.deps import ServiceDeps, get_scheduled_job, get_visible_scheduled_job, job_facts, request_facts
from storage.repositories import JobDefinition, Repositories, SyncReport


@dataclass(frozen=True)
class SyncOutcome:
    """The result of discovering jobs and storing them."""

    report: SyncReport
    errors: list[LoadError]


class Management:
    """Cancel, pause and resume scheduled jobs; switch jobs on and off; sync the jobs table with the code.

    Args:
        deps: the database, policy, catalog and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    # ---------------------------------------------------------------------------------------------- scheduled jobs

    def cancel_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                             now: datetime | None = None) -> ScheduledJobRecord:
        """End a scheduled job for good (kept for the record): the requester, or ``delete_scheduledjob``.

        Someone else's request that still awaits approval is denied instead (which needs ``approve_job`` too).
        """
        deps = self._deps
        now = now or deps.clock()
        with deps.db.write() as session:
            repos = Repositories(session)
            record = get_visible_scheduled_job(deps, repos, actor, scheduled_job_id)
            if requests.check_cancel(request_facts(deps, record), actor=actor, policy=deps.policy):
                # Ending someone else's pending request is a denial, recorded as one.
                denied = record_denial(deps, repos, record, actor=actor, reason=None, now=now)
            else:
                return self._end(repos, record, actor=actor, now=now)
        activity.denied(denied, actor)
        return denied

    def _end(self, repos: Repositories, record: ScheduledJobRecord, *, actor: Actor,
             now: datetime) -> ScheduledJobRecord:
        """Cancel: end the scheduled job, in the caller's transaction, with its audit event and messages."""
        ended = repos.scheduled_jobs.end(record.id, reason=EndReason.CANCELLED, ended_by_id=actor.user_id, now=now)
        if ended is None:
            ended = get_scheduled_job(repos, record.id)
            requests.check_cancel(request_facts(self._deps, ended), actor=actor, policy=self._deps.policy)
        repos.audit.add(AuditEvent(actor_id=actor.user_id, action=AuditAction.SCHEDULED_JOB_CANCEL,
                                   object_type=ObjectType.SCHEDULED_JOB, object_id=record.id), now=now)
        if record.approval_state is ApprovalState.PENDING:
            announce_decision(repos, record, kind=OutboxKind.REQUEST_CANCELLED, actor=actor, now=now)
        else:
            tell_requester(repos, record, kind=OutboxKind.REQUEST_CANCELLED, actor=actor, now=now)
        return ended

    def pause_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                            now: datetime | None = None) -> ScheduledJobRecord:
        """Stop a recurring scheduled job without losing it: the requester, or ``change_scheduledjob``."""
        return self._set_paused(actor=actor, scheduled_job_id=scheduled_job_id, paused=True,
                                now=now or self._deps.clock())

    def resume_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                             now: datetime | None = None) -> ScheduledJobRecord:
        """Restart a paused scheduled job; the runs it missed while paused are skipped."""
        return self._set_paused(actor=actor, scheduled_job_id=scheduled_job_id, paused=False,
                                now=now or self._deps.clock())

    def _set_paused(self, *, actor: Actor, scheduled_job_id: str, paused: bool, now: datetime) -> ScheduledJobRecord:
        deps = self._deps
        check = requests.check_pause if paused else requests.check_resume
        with deps.db.write() as session:
            repos = Repositories(session)
            record = get_visible_scheduled_job(deps, repos, actor, scheduled_job_id)
            check(request_facts(deps, record), actor=actor, policy=deps.policy, paused=record.paused)
            next_run = None
            if not paused and record.approval_state in (ApprovalState.APPROVED, ApprovalState.NOT_REQUIRED):
                next_run = schedules.first_run_from(record.schedule, now)
            updated = repos.scheduled_jobs.set_paused(record.id, paused=paused, next_run_at=next_run, now=now)
            if updated is None:
                updated = get_scheduled_job(repos, record.id)
                check(request_facts(deps, updated), actor=actor, policy=deps.policy, paused=updated.paused)
            action = AuditAction.SCHEDULED_JOB_PAUSE if paused else AuditAction.SCHEDULED_JOB_RESUME
            repos.audit.add(AuditEvent(actor_id=actor.user_id, action=action, object_type=ObjectType.SCHEDULED_JOB,
                                       object_id=record.id), now=now)
            if not paused:
                repos.scheduled_jobs.notify_wakeup()
        if not paused:
            deps.wakeups()
        return updated

    # -------------------------------------------------------------------------------------------------------- jobs

    def set_job_enabled(self, ident: str, enabled: bool, *, actor_id: str | None = None,
                        now: datetime | None = None) -> JobRecord:
        """Switch a job on or off (operators, through the CLI). Takes effect at once for running servers."""
        deps = self._deps
        now = now or deps.clock()
        with deps.db.write() as session:
            repos = Repositories(session)
            job = repos.jobs.set_enabled(ident, enabled, now=now)
            if job is None:
                raise NotFoundError(f"Job {ident!r} not found.")
            repos.audit.add(AuditEvent(actor_id=actor_id,
                                       action=AuditAction.JOB_ENABLE if enabled else AuditAction.JOB_DISABLE,
                                       object_type=ObjectType.JOB, object_id=job.id, detail={"slug": job.slug}),
                            now=now)
        return job

    def sync_jobs(self, *, now: datetime | None = None) -> SyncOutcome:
        """Discover job classes on the catalog's paths and entry points, and store them.

        New jobs start disabled; jobs whose code vanished are marked not installed (never deleted).
        """
        deps = self._deps
        discovery = deps.catalog.reload()
        definitions = [job_definition(found) for found in discovery.jobs.values()]
        with deps.db.write() as session:
            report = Repositories(session).jobs.sync(definitions, now=now or deps.clock())
        return SyncOutcome(report=report, errors=list(discovery.errors))

    def not_runnable_reason(self, job: JobRecord) -> str | None:
        """Why the job cannot run now (disabled, not installed, code missing, sensitive and approval), or None."""
        return requests.not_runnable_reason(job_facts(self._deps, job))


def job_definition(found: DiscoveredJob) -> JobDefinition:
    """The storable description of a discovered job class."""
    info = found.info
    return JobDefinition(
        slug=found.slug,
        module_name=found.module_name,
        class_name=found.class_name,
        name=info.name,
        description=info.description,
        source=found.source,
        approval_required=info.approval_required,
        has_sensitive_variables=info.has_sensitive_variables,
        hidden=info.hidden,
        soft_time_limit=info.soft_time_limit,
        time_limit=info.time_limit,
        variables={name: {**var.describe(), **({KEY_MARK: True} if name == info.key_variable else {})}
                   for name, var in info.variables.items()},
        version=found.version,
        grouping=found.grouping,
    )
