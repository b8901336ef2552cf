"""Use cases: request, approve, deny, dry-run, cancel, pause, resume, and the listings.

Slack, the REST API and the CLI call these, so they can never disagree. Each use case is one transaction: it asks the
domain for the decision, changes rows through the repositories, writes the audit event and the outbox entries its
change implies, and commits. Nothing is sent to Slack here; the notifier delivers the outbox afterwards.
Must not import Slack or handlers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.domain import approvals, requests, schedules
from bot.domain.approvals import Action, ApprovalState, RequestFacts
from bot.domain.errors import (
    AlreadyDecidedError,
    FieldErrors,
    InvalidScheduleError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
)
from bot.domain.permissions import Actor, Perm, Policy
from bot.domain.records import JobRecord, JobResultRecord, Page, ScheduledJobRecord
from bot.domain.requests import JobFacts
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType, Schedule
from bot.domain.variables import validate_data
from bot.registry import DiscoveredJob, Discovery, LoadError, discover
from bot.transient import TransientData, new_runner_id
from storage.db import Database
from storage.repositories import JobDefinition, Repositories, SyncReport

log = logging.getLogger(__name__)

USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,}$")
MAX_PAGE = 1000
# How long the data of a sensitive run waits in this process's memory for its runner before the run is errored.
SENSITIVE_HANDOVER = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class ScheduleInput:
    """The schedule part of a run request, as the edge parsed it (times may be naive: read in ``time_zone``)."""

    interval: str | None
    name: str | None = None
    start_time: datetime | None = None
    crontab: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, kw_only=True)
class RequestOutcome:
    """What a run request created: a scheduled job or a job result, exactly one.

    ``transient_data`` carries the cleaned data of a job with sensitive variables to the runner in memory; it is
    never stored and must never be rendered.
    """

    scheduled_job: ScheduledJobRecord | None = None
    job_result: JobResultRecord | None = None
    needs_approval: bool = False
    transient_data: dict[str, Any] | None = field(default=None, repr=False)


class JobCatalog:
    """The job classes this process can run, from the last discovery. Thread-safe to read and reload."""

    def __init__(self, discovery: Discovery | None = None) -> None:
        self._lock = threading.Lock()
        self._discovery = discovery or Discovery(jobs={}, errors=[])

    @property
    def discovery(self) -> Discovery:
        with self._lock:
            return self._discovery

    def replace(self, discovery: Discovery) -> None:
        with self._lock:
            self._discovery = discovery

    def get(self, slug: str) -> DiscoveredJob | None:
        return self.discovery.jobs.get(slug)


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
        variables={name: var.describe() for name, var in info.variables.items()},
    )


@dataclass(frozen=True)
class SyncOutcome:
    """The result of discovering jobs and storing them."""

    report: SyncReport
    errors: list[LoadError]


class Services:
    """The use cases, bound to one database, one permissions policy and one job catalog.

    Args:
        db: the database.
        settings: jobgate's settings (default time zone, approval channel, misfire grace).
        policy: the permissions policy.
        catalog: the job classes available to this process.
        clock: where ``now`` comes from when a call does not pass it.
        on_due: called after a commit that may make work due sooner (wakes the dispatcher and runner in-process).
        runner_id: this process's runner identity: runs of jobs with sensitive variables are pinned to it.
        transient: where the data of those runs waits, in memory only, until this process's runner starts them.
    """

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        policy: Policy,
        catalog: JobCatalog | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_due: Callable[[], None] | None = None,
        runner_id: str | None = None,
        transient: TransientData | None = None,
    ) -> None:
        self.db = db
        self.runner_id = runner_id or new_runner_id()
        self.transient = transient or TransientData()
        self.settings = settings
        self.policy = policy
        self.catalog = catalog or JobCatalog()
        self.clock = clock
        self._on_due: list[Callable[[], None]] = [on_due] if on_due else []

    def add_due_listener(self, listener: Callable[[], None]) -> None:
        """Register a callback run after any commit that may make work due sooner."""
        self._on_due.append(listener)

    def _due(self) -> None:
        for listener in self._on_due:
            listener()

    # ------------------------------------------------------------------------------------------------------ jobs

    def sync_jobs(self, *, now: datetime | None = None) -> SyncOutcome:
        """Discover job classes on the configured paths and entry points, and store them.

        New jobs start disabled; jobs whose code vanished are marked not installed (never deleted).
        """
        discovery = discover(self.settings.jobs_paths)
        self.catalog.replace(discovery)
        definitions = [job_definition(found) for found in discovery.jobs.values()]
        with self.db.write() as session:
            report = Repositories(session).jobs.sync(definitions, now=now or self.clock())
        return SyncOutcome(report=report, errors=list(discovery.errors))

    def list_jobs(self, actor: Actor | None = None) -> list[JobRecord]:
        """Jobs the actor may see (``view_job`` or ``run_job`` on them); every job when no actor (CLI)."""
        with self.db.read() as session:
            jobs = Repositories(session).jobs.list_all()
        if actor is None:
            return jobs
        return [
            job for job in jobs
            if job.installed and (not job.hidden or self.policy.is_admin(actor)) and self._may_see_job(actor, job)
        ]

    def get_job(self, ident: str, actor: Actor | None = None) -> JobRecord:
        """A job by UUID, slug or name. Raises NotFoundError when it does not exist or the actor may not see it."""
        with self.db.read() as session:
            job = Repositories(session).jobs.get(ident)
        if job is None or (actor is not None and not self._may_see_job(actor, job)):
            raise NotFoundError(f"Job {ident!r} not found.")
        return job

    def set_job_enabled(self, ident: str, enabled: bool, *, actor_id: str | None = None,
                        now: datetime | None = None) -> JobRecord:
        """Switch a job on or off (operators, through the CLI). Takes effect at once for running servers."""
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            job = repos.jobs.set_enabled(ident, enabled, now=now)
            if job is None:
                raise NotFoundError(f"Job {ident!r} not found.")
            repos.audit.add(actor_id=actor_id, action="job.enable" if enabled else "job.disable",
                            object_type="job", object_id=job.id, now=now, detail={"slug": job.slug})
        return job

    def _may_see_job(self, actor: Actor, job: JobRecord) -> bool:
        return requests.may_view(job.ref, actor=actor, policy=self.policy, perm=Perm.VIEW_JOB)

    def _job_facts(self, job: JobRecord) -> JobFacts:
        return job.facts(code_present=self.catalog.get(job.slug) is not None)

    def not_runnable_reason(self, job: JobRecord) -> str | None:
        """Why the job cannot run now (disabled, not installed, code missing, sensitive and approval), or None."""
        return requests.not_runnable_reason(self._job_facts(job))

    # -------------------------------------------------------------------------------------------------- requests

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
        now = now or self.clock()
        # Model-level permission comes before looking the job up, as in Nautobot (403 before 404).
        if not self.policy.has_perm(actor, Perm.RUN_JOB):
            raise PermissionDeniedError("This user does not have permission to run jobs.")
        record = self.get_job(job)
        interval = _interval_of(schedule)
        plan = requests.check_run_request(
            self._job_facts(record), actor=actor, policy=self.policy, interval=interval, dry_run=not commit
        )
        zone = (schedule.time_zone if schedule else None) or time_zone or self.settings.time_zone
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
        found = self.catalog.get(record.slug)
        assert found is not None  # check_run_request refused a job whose code is missing
        cleaned = validate_data(found.info.variables, {} if data is None else data)
        stored_data = None if record.has_sensitive_variables else cleaned

        with self.db.write() as session:
            repos = Repositories(session)
            if validated is not None:
                outcome = self._create_scheduled_job(
                    repos, actor=actor, job=record, schedule=validated, data=stored_data, commit=commit,
                    needs_approval=plan.needs_approval, now=now,
                )
            else:
                sensitive = record.has_sensitive_variables
                result = repos.job_results.create(
                    job_id=record.id, scheduled_job_id=None, scheduled_for=None, name=record.name,
                    user_id=actor.user_id, approved_by_id=None, status=JobResultStatus.PENDING.value,
                    dry_run=not commit, data=stored_data, created_at=now,
                    # Pinned to this process, whose memory holds the data; errored if it is not run in time.
                    owner=self.runner_id if sensitive else None,
                    lease_expires_at=now + SENSITIVE_HANDOVER if sensitive else None,
                )
                if sensitive:
                    self.transient.put(result.id, cleaned)
                repos.audit.add(actor_id=actor.user_id, action="job.run", object_type="job_result",
                                object_id=result.id, now=now, detail={"job": record.slug, "dry_run": not commit})
                repos.scheduled_jobs.notify_wakeup()
                outcome = RequestOutcome(job_result=result, transient_data=cleaned if sensitive else None)
        if outcome.job_result is not None or (outcome.scheduled_job and outcome.scheduled_job.next_run_at):
            self._due()
        return outcome

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
        now: datetime,
    ) -> RequestOutcome:
        name = schedule.name or f"{job.name} - {now.strftime('%Y-%m-%d %H:%M:%S')} UTC"
        next_run = None if needs_approval else schedules.first_run_at(schedule)
        record = repos.scheduled_jobs.create(
            name=name, job_id=job.id, user_id=actor.user_id, interval=schedule.interval.value,
            start_time=schedule.start_at, crontab=schedule.crontab, time_zone=schedule.time_zone, data=data,
            commit=commit, approval_required=needs_approval,
            approval_state=(ApprovalState.PENDING if needs_approval else ApprovalState.NOT_REQUIRED).value,
            enabled=True, paused=False, next_run_at=next_run, total_run_count=0,
            misfire_policy="run_once", version=0, created_at=now, updated_at=now,
        )
        repos.audit.add(actor_id=actor.user_id, action="scheduled_job.request", object_type="scheduled_job",
                        object_id=record.id, now=now,
                        detail={"job": job.slug, "interval": schedule.interval.value, "needs_approval": needs_approval})
        if needs_approval:
            self._announce_approval_request(repos, record, now=now)
        else:
            repos.scheduled_jobs.notify_wakeup()
        return RequestOutcome(scheduled_job=record, needs_approval=needs_approval)

    def _announce_approval_request(self, repos: Repositories, record: ScheduledJobRecord, *, now: datetime) -> None:
        payload = {"scheduled_job_id": record.id}
        if self.settings.approval_channel:
            targets = [self.settings.approval_channel]
        else:
            assert record.job is not None
            users, handles = self.policy.approver_targets(record.job.ref)
            targets = sorted(u for u in users if u != record.user_id) + sorted(f"@{h}" for h in handles)
        for target in targets:
            repos.outbox.add(channel=target, kind="approval_request", payload=payload, now=now,
                             ref_type="scheduled_job", ref_id=record.id)

    # ------------------------------------------------------------------------------------------------- decisions

    def _facts(self, record: ScheduledJobRecord) -> RequestFacts:
        job = record.job
        reason = requests.not_runnable_reason(self._job_facts(job)) if job else "The job no longer exists."
        return record.facts(not_runnable_reason=reason)

    def _get_for_decision(self, repos: Repositories, scheduled_job_id: str) -> ScheduledJobRecord:
        record = repos.scheduled_jobs.get(scheduled_job_id)
        if record is None:
            raise NotFoundError("Scheduled job not found.")
        return record

    def approve_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, force: bool = False, now: datetime | None = None
    ) -> ScheduledJobRecord:
        """Approve a pending request. A ``future`` request past its start needs ``force`` and then runs at once.

        Raises:
            PermissionDeniedError, NotFoundError, AlreadyDecidedError, PastDueError, NotRunnableError.
        """
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            record = self._get_for_decision(repos, scheduled_job_id)
            decision = approvals.decide(
                self._facts(record), Action.APPROVE, actor=actor, policy=self.policy, now=now, force=force
            )
            next_run = now if decision.runs_at_once else _first_slot_from(record.schedule, now)
            if not repos.scheduled_jobs.decide(
                record.id, approval_state=ApprovalState.APPROVED, decided_by_id=actor.user_id, decided_at=now,
                reason=None, next_run_at=next_run, end=False,
            ):
                self._refuse_lost_race(repos, record.id)
            repos.audit.add(actor_id=actor.user_id, action="scheduled_job.approve", object_type="scheduled_job",
                            object_id=record.id, now=now, detail={"force": force})
            self._announce_decision(repos, record, kind="request_approved", actor=actor, now=now)
            repos.scheduled_jobs.notify_wakeup()
        self._due()
        # The conditional update changed exactly these fields; no need to read the row back.
        return replace(record, approval_state=ApprovalState.APPROVED, decided_by_id=actor.user_id, decided_at=now,
                       decision_reason=None, next_run_at=next_run)

    def deny_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, reason: str | None = None, now: datetime | None = None
    ) -> ScheduledJobRecord:
        """Deny a pending request (or withdraw one's own). The request is kept, with who, when and why."""
        now = now or self.clock()
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > 2000:
            raise FieldErrors({"reason": ["Ensure this value has at most 2000 characters."]})
        with self.db.write() as session:
            repos = Repositories(session)
            record = self._get_for_decision(repos, scheduled_job_id)
            approvals.decide(self._facts(record), Action.DENY, actor=actor, policy=self.policy, now=now)
            if not repos.scheduled_jobs.decide(
                record.id, approval_state=ApprovalState.DENIED, decided_by_id=actor.user_id, decided_at=now,
                reason=reason, next_run_at=None, end=True,
            ):
                self._refuse_lost_race(repos, record.id)
            withdrawn = actor.user_id == record.user_id
            action = "scheduled_job.withdraw" if withdrawn else "scheduled_job.deny"
            repos.audit.add(actor_id=actor.user_id, action=action, object_type="scheduled_job",
                            object_id=record.id, now=now, detail={"reason": reason})
            self._announce_decision(repos, record, kind="request_denied", actor=actor, now=now)
        return replace(record, approval_state=ApprovalState.DENIED, decided_by_id=actor.user_id, decided_at=now,
                       decision_reason=reason, next_run_at=None, enabled=False, end_reason="denied", ended_at=now,
                       ended_by_id=actor.user_id)

    def _refuse_lost_race(self, repos: Repositories, scheduled_job_id: str) -> None:
        """Another decision (or a cancel) committed first: say what happened, from the row as it now stands."""
        current = self._facts(self._get_for_decision(repos, scheduled_job_id))
        if current.approval_state is ApprovalState.PENDING:
            raise InvalidStateError("This request was cancelled; there is nothing left to decide.")
        raise AlreadyDecidedError(approvals.describe_decision(current))

    def _announce_decision(
        self, repos: Repositories, record: ScheduledJobRecord, *, kind: str, actor: Actor, now: datetime
    ) -> None:
        payload = {"scheduled_job_id": record.id, "actor_id": actor.user_id}
        for entry in repos.outbox.list_for("scheduled_job", record.id):
            if entry.kind == "approval_request":
                repos.outbox.add(channel=entry.channel, kind="approval_update", payload=payload, now=now,
                                 ref_type="scheduled_job", ref_id=record.id)
        if record.user_id and record.user_id != actor.user_id:
            repos.outbox.add(channel=record.user_id, kind=kind, payload=payload, now=now,
                             ref_type="scheduled_job", ref_id=record.id)

    def dry_run_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, now: datetime | None = None
    ) -> JobResultRecord:
        """Run a pending request now with ``commit=False``, as the actor; the request stays as it is."""
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            record = self._get_for_decision(repos, scheduled_job_id)
            approvals.decide(self._facts(record), Action.DRY_RUN, actor=actor, policy=self.policy, now=now)
            assert record.job is not None  # decide() refuses a request whose job is gone
            result = repos.job_results.create(
                job_id=record.job.id, scheduled_job_id=record.id, scheduled_for=None, name=record.job.name,
                user_id=actor.user_id, approved_by_id=None, status=JobResultStatus.PENDING.value, dry_run=True,
                data=record.data, created_at=now,
            )
            repos.audit.add(actor_id=actor.user_id, action="scheduled_job.dry_run", object_type="scheduled_job",
                            object_id=record.id, now=now, detail={"job_result_id": result.id})
            repos.scheduled_jobs.notify_wakeup()
        self._due()
        return result

    # ---------------------------------------------------------------------------------------------- management

    def cancel_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                             now: datetime | None = None) -> ScheduledJobRecord:
        """End a scheduled job for good (kept for the record): the requester, or ``delete_scheduledjob``."""
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            record = self._get_visible(repos, actor, scheduled_job_id)
            requests.check_cancel(self._facts(record), actor=actor, policy=self.policy)
            if not repos.scheduled_jobs.end(record.id, reason="cancelled", ended_by_id=actor.user_id, now=now):
                requests.check_cancel(self._facts(self._get_for_decision(repos, record.id)),
                                      actor=actor, policy=self.policy)
            repos.audit.add(actor_id=actor.user_id, action="scheduled_job.cancel", object_type="scheduled_job",
                            object_id=record.id, now=now)
            if record.approval_state is ApprovalState.PENDING:
                self._announce_decision(repos, record, kind="request_cancelled", actor=actor, now=now)
            elif record.user_id and record.user_id != actor.user_id:
                repos.outbox.add(channel=record.user_id, kind="request_cancelled",
                                 payload={"scheduled_job_id": record.id, "actor_id": actor.user_id}, now=now,
                                 ref_type="scheduled_job", ref_id=record.id)
            return self._get_for_decision(repos, record.id)

    def pause_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                            now: datetime | None = None) -> ScheduledJobRecord:
        """Stop a recurring scheduled job without losing it: the requester, or ``change_scheduledjob``."""
        return self._set_paused(actor=actor, scheduled_job_id=scheduled_job_id, paused=True, now=now or self.clock())

    def resume_scheduled_job(self, *, actor: Actor, scheduled_job_id: str,
                             now: datetime | None = None) -> ScheduledJobRecord:
        """Restart a paused scheduled job; the runs it missed while paused are skipped."""
        return self._set_paused(actor=actor, scheduled_job_id=scheduled_job_id, paused=False, now=now or self.clock())

    def _set_paused(self, *, actor: Actor, scheduled_job_id: str, paused: bool, now: datetime) -> ScheduledJobRecord:
        check = requests.check_pause if paused else requests.check_resume
        with self.db.write() as session:
            repos = Repositories(session)
            record = self._get_visible(repos, actor, scheduled_job_id)
            check(self._facts(record), actor=actor, policy=self.policy, paused=record.paused)
            next_run = None
            if not paused and record.approval_state in (ApprovalState.APPROVED, ApprovalState.NOT_REQUIRED):
                next_run = _first_slot_from(record.schedule, now)
            if not repos.scheduled_jobs.set_paused(record.id, paused=paused, next_run_at=next_run, now=now):
                current = self._get_for_decision(repos, record.id)
                check(self._facts(current), actor=actor, policy=self.policy, paused=current.paused)
            repos.audit.add(actor_id=actor.user_id, action="scheduled_job.pause" if paused else "scheduled_job.resume",
                            object_type="scheduled_job", object_id=record.id, now=now)
            if not paused:
                repos.scheduled_jobs.notify_wakeup()
            updated = self._get_for_decision(repos, record.id)
        if not paused:
            self._due()
        return updated

    # ------------------------------------------------------------------------------------------------- listings

    def _visible_job_ids(self, repos: Repositories, actor: Actor, perm: Perm) -> list[str] | None:
        """IDs of the jobs on which the actor holds ``perm``; None means every job (no constraint applies)."""
        if self.policy.is_admin(actor):
            return None
        return [job.id for job in repos.jobs.list_all() if self.policy.has_perm(actor, perm, job.ref)]

    def _listing_scope(
        self, repos: Repositories, actor: Actor, perm: Perm, job: str | None
    ) -> tuple[list[str] | None, str | None]:
        """What a listing may show: (job ids, or None for all; a user id to restrict to their own rows, or None).

        Without ``perm`` at all, an actor sees only their own rows; ``job`` narrows the listing to one job.
        """
        job_ids = self._visible_job_ids(repos, actor, perm)
        user_id = None
        if not self.policy.has_perm(actor, perm):
            job_ids, user_id = None, actor.user_id
        if job is not None:
            found = repos.jobs.get(job)
            if found is None:
                raise FieldErrors({"job": [f"Job {job!r} not found."]})
            job_ids = [found.id] if job_ids is None or found.id in job_ids else []
        return job_ids, user_id

    def _get_visible(self, repos: Repositories, actor: Actor, scheduled_job_id: str) -> ScheduledJobRecord:
        record = repos.scheduled_jobs.get(scheduled_job_id)
        if record is None:
            raise NotFoundError("Scheduled job not found.")
        requests.check_view(record.job.ref if record.job else None, actor=actor, policy=self.policy,
                            perm=Perm.VIEW_SCHEDULEDJOB, owner_id=record.user_id)
        return record

    def list_approval_queue(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> Page[ScheduledJobRecord]:
        """Pending requests the actor may see, oldest start first."""
        limit, offset = _page_bounds(limit, offset)
        with self.db.read() as session:
            repos = Repositories(session)
            if not self.policy.has_perm(actor, Perm.VIEW_SCHEDULEDJOB):
                # Without view permission a user still sees their own pending requests.
                return repos.scheduled_jobs.list_active(
                    limit=limit, offset=offset, approval_state=ApprovalState.PENDING.value, user_id=actor.user_id
                )
            job_ids = self._visible_job_ids(repos, actor, Perm.VIEW_SCHEDULEDJOB)
            return repos.scheduled_jobs.list_queue(limit=limit, offset=offset, job_ids=job_ids)

    def list_scheduled_jobs(
        self,
        actor: Actor,
        *,
        job: str | None = None,
        approval_state: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ScheduledJobRecord]:
        """Pending and active scheduled jobs the actor may see, optionally for one job or approval state."""
        limit, offset = _page_bounds(limit, offset)
        if approval_state is not None and approval_state not in {s.value for s in ApprovalState}:
            choices = ", ".join(s.value for s in ApprovalState)
            raise FieldErrors({"approval_state": [f'"{approval_state}" is not a valid choice ({choices}).']})
        with self.db.read() as session:
            repos = Repositories(session)
            job_ids, user_id = self._listing_scope(repos, actor, Perm.VIEW_SCHEDULEDJOB, job)
            return repos.scheduled_jobs.list_active(
                limit=limit, offset=offset, job_ids=job_ids, approval_state=approval_state, user_id=user_id
            )

    def get_scheduled_job(self, actor: Actor, scheduled_job_id: str) -> ScheduledJobRecord:
        """One scheduled job, also denied or finished ones. NotFoundError when missing or not visible."""
        with self.db.read() as session:
            return self._get_visible(Repositories(session), actor, scheduled_job_id)

    def list_job_results(
        self, actor: Actor, *, job: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[JobResultRecord]:
        """Recent job results the actor may see (``view_jobresult`` on the job, or their own runs), newest first."""
        limit, offset = _page_bounds(limit, offset)
        with self.db.read() as session:
            repos = Repositories(session)
            job_ids, user_id = self._listing_scope(repos, actor, Perm.VIEW_JOBRESULT, job)
            return repos.job_results.list_page(limit=limit, offset=offset, job_ids=job_ids, user_id=user_id)

    def get_job_result(self, actor: Actor, job_result_id: str) -> JobResultRecord:
        """One job result with its log. NotFoundError when missing or not visible."""
        with self.db.read() as session:
            result = Repositories(session).job_results.get(job_result_id)
        if result is None:
            raise NotFoundError("Job result not found.")
        requests.check_view(result.job.ref if result.job else None, actor=actor, policy=self.policy,
                            perm=Perm.VIEW_JOBRESULT, owner_id=result.user_id)
        return result

    # ---------------------------------------------------------------------------------------------------- tokens

    def create_api_token(self, *, user_id: str, description: str = "", now: datetime | None = None) -> str:
        """Create a REST API token for a Slack user and return it; only its SHA-256 hash is stored."""
        if not USER_ID_PATTERN.fullmatch(user_id):
            raise FieldErrors({"user": [f"{user_id!r} is not a Slack user ID; expected e.g. U0123ABCD."]})
        now = now or self.clock()
        token = secrets.token_hex(20)
        with self.db.write() as session:
            repos = Repositories(session)
            token_id = repos.tokens.add(key_hash=hash_token(token), key_prefix=token[:8], user_id=user_id,
                                        description=description, now=now)
            repos.audit.add(actor_id=None, action="api_token.create", object_type="api_token", object_id=token_id,
                            now=now, detail={"user_id": user_id, "prefix": token[:8]})
        return token

    def authenticate_token(self, token: str, *, now: datetime | None = None) -> Actor | None:
        """The actor a REST API token belongs to, or None when it is unknown, expired or revoked."""
        now = now or self.clock()
        key_hash = hash_token(token)
        with self.db.read() as session:
            user_id = Repositories(session).tokens.user_for_hash(key_hash, now=now)
        return Actor(user_id=user_id) if user_id else None

    # ----------------------------------------------------------------------------------------------- Slack App Home

    @dataclass(frozen=True, kw_only=True)
    class Home:
        """What a user's Slack Home tab shows.

        Attributes:
            my_requests: the user's own pending and active scheduled jobs.
            to_approve: pending requests the user may approve now (never their own).
            upcoming: visible active scheduled jobs, soonest next run first.
            results: the most recent job results the user may see.
        """

        my_requests: Page[ScheduledJobRecord]
        to_approve: list[ScheduledJobRecord]
        upcoming: Page[ScheduledJobRecord]
        results: Page[JobResultRecord]

    def get_home(self, actor: Actor, *, limit: int = 10, now: datetime | None = None) -> Services.Home:
        """Everything the Slack Home tab shows for ``actor``, each list at most ``limit`` long."""
        now = now or self.clock()
        with self.db.read() as session:
            mine = Repositories(session).scheduled_jobs.list_active(limit=limit, offset=0, user_id=actor.user_id)
        queue = self.list_approval_queue(actor, limit=max(limit * 10, 100))
        to_approve = [
            record for record in queue.items
            if approvals.can_act(self._facts(record), Action.APPROVE, actor=actor, policy=self.policy, now=now)
        ][:limit]
        return Services.Home(
            my_requests=mine,
            to_approve=to_approve,
            upcoming=self.list_scheduled_jobs(actor, limit=limit),
            results=self.list_job_results(actor, limit=limit),
        )




def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _interval_of(schedule: ScheduleInput | None) -> IntervalType | None:
    if schedule is None or schedule.interval is None:
        return None
    try:
        return IntervalType(schedule.interval)
    except ValueError:
        raise InvalidScheduleError({"interval": [f'"{schedule.interval}" is not a valid choice.']}) from None


def _first_slot_from(schedule: Schedule, now: datetime) -> datetime | None:
    """The first due time at or after ``now`` (slots before ``now`` were never approved or were paused)."""
    first = schedules.first_run_at(schedule)
    if first >= now:
        return first
    return schedules.next_run_at(schedule, now)


def _page_bounds(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or offset < 0:
        raise FieldErrors({"limit": ["Ensure limit is at least 1 and offset at least 0."]})
    return min(limit, MAX_PAGE), offset
