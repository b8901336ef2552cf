"""Records: what storage reads back and services hand to the edges (Slack, REST API, CLI) to render, and the new
records services, the dispatcher and the runner hand to storage to write.

Plain frozen dataclasses; ``storage.repositories`` turns rows into records and new records into rows, so no column
list is spelt out anywhere else. Pure: must not import Slack, SQLAlchemy or storage. Values of jobs with sensitive
variables never appear here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bot.domain.approval_rules import DEFAULT_RULE, ApprovalRule, ApprovalTimes, Vote
from bot.domain.approvals import ApprovalState, RequestFacts
from bot.domain.dispatch import MisfirePolicy
from bot.domain.permissions import JobRef
from bot.domain.requests import JobFacts
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType, Schedule

T = TypeVar("T")

DELETED_JOB = JobRef(slug="(deleted job)", name="(deleted job)")
"""Stands for the job of a scheduled job whose job record was deleted."""


class ObjectType(StrEnum):
    """The kinds of stored object an audit event or an outbox entry refers to.

    JOB: a job (``jobs``).
    SCHEDULED_JOB: a scheduled job (``scheduled_jobs``).
    JOB_RESULT: a job result (``job_results``).
    API_TOKEN: a REST API token (``api_tokens``).
    """

    JOB = "job"
    SCHEDULED_JOB = "scheduled_job"
    JOB_RESULT = "job_result"
    API_TOKEN = "api_token"


class EndReason(StrEnum):
    """Why a scheduled job ended. An ended scheduled job is kept, inactive, for the record.

    DENIED: its request was denied by an approver, or withdrawn by the requester.
    CANCELLED: cancelled by the requester or someone allowed to delete scheduled jobs.
    FINISHED: a one-off whose due time was handled (run or recorded as missed): it has no next run.
    EXPIRED: its request was still pending when its approval rule's ``expire_after`` ran out.
    """

    DENIED = "denied"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """A job as stored: what the code declares plus the operator's switches."""

    id: str
    slug: str
    name: str
    description: str
    module_name: str
    class_name: str
    source: str
    enabled: bool
    installed: bool
    approval_required: bool
    has_sensitive_variables: bool
    hidden: bool
    soft_time_limit: float | None
    time_limit: float | None
    variables: dict[str, Any]
    version: str = ""
    grouping: str = ""

    @property
    def group(self) -> str:
        """Where lists show the job: its module's ``name`` (Nautobot's grouping), else its module name."""
        return self.grouping or self.module_name

    @property
    def ref(self) -> JobRef:
        return JobRef(slug=self.slug, name=self.name)

    def facts(self, *, code_present: bool = True) -> JobFacts:
        """What the run-request rules need to know about this job.

        Args:
            code_present: whether this process can load the job's class (the caller knows its catalog).
        """
        return JobFacts(
            job=self.ref,
            enabled=self.enabled,
            installed=self.installed,
            approval_required=self.approval_required,
            has_sensitive_variables=self.has_sensitive_variables,
            code_present=code_present,
        )


@dataclass(frozen=True, kw_only=True)
class ScheduledJobRecord:
    """A scheduled job with its schedule, approval state and run counters."""

    id: str
    name: str
    job: JobRecord | None
    user_id: str | None
    interval: IntervalType
    start_time: datetime
    crontab: str | None
    time_zone: str
    data: dict[str, Any] | None
    commit: bool
    approval_required: bool
    approval_state: ApprovalState
    decided_by_id: str | None
    decided_at: datetime | None
    decision_reason: str | None
    enabled: bool
    paused: bool
    end_reason: EndReason | None
    ended_at: datetime | None
    ended_by_id: str | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    total_run_count: int
    created_at: datetime
    min_approvers: int = 1
    approvals: tuple[Vote, ...] = ()
    expires_at: datetime | None = None
    job_version: str | None = None
    approved_job_version: str | None = None
    approval_asked_at: datetime | None = None
    reason: str | None = None
    """Why the requester asked for it (optional, as they typed it), shown to the approvers."""

    @property
    def asked_at(self) -> datetime:
        """When the approvers were last asked: when it was requested, or later when its job came to require approval
        or its approval lapsed. Its expiry, reminders and escalation count from then."""
        return self.approval_asked_at or self.created_at

    @property
    def schedule(self) -> Schedule:
        return Schedule(
            interval=self.interval,
            start_time=self.start_time,
            crontab=self.crontab,
            time_zone=self.time_zone,
            name=self.name,
        )

    def facts(self, *, not_runnable_reason: str | None = None, rule: ApprovalRule = DEFAULT_RULE) -> RequestFacts:
        """What the approval rules need to know about this scheduled job.

        Args:
            not_runnable_reason: why its job cannot run now (the caller knows the job's code), or None.
            rule: the approval rule in force for its job (whom it escalates to).
        """
        return RequestFacts(
            scheduled_job_id=self.id,
            name=self.name,
            requester_id=self.user_id,
            job=self.job.ref if self.job else DELETED_JOB,
            interval=self.interval,
            start_time=self.start_time,
            approval_state=self.approval_state,
            decided_by_id=self.decided_by_id,
            decided_at=self.decided_at,
            enabled=self.enabled,
            not_runnable_reason=not_runnable_reason,
            created_at=self.asked_at,
            min_approvers=self.min_approvers,
            approvals=self.approvals,
            expires_at=self.expires_at,
            rule=rule,
        )


@dataclass(frozen=True, kw_only=True)
class NewScheduledJob:
    """A scheduled job to store: a run request that waits for approval or for its schedule.

    It starts active (enabled, not paused) with no runs; storage assigns its id.

    Attributes:
        name: its name (the schedule's, or the default one for a request without).
        schedule: when it runs (interval, start, crontab, time zone).
        next_run_at: its first due time, or None while it waits for approval.
        created_at: when it was requested.
        approval_times: for a pending request, its quorum and the due times of its expiry, reminders and escalation.
        reason: why the requester asked for it, or None.
    """

    name: str
    job_id: str
    user_id: str | None
    schedule: Schedule
    data: dict[str, Any] | None
    commit: bool
    approval_required: bool
    approval_state: ApprovalState
    next_run_at: datetime | None
    misfire_policy: MisfirePolicy = MisfirePolicy.RUN_ONCE
    created_at: datetime
    approval_times: ApprovalTimes = field(default_factory=ApprovalTimes)
    job_version: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogRecord:
    """One line of a job result's log (written as it is read back)."""

    logged_at: datetime
    level: str
    message: str
    obj: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobResultRecord:
    """One execution of a job and its outcome."""

    id: str
    job: JobRecord | None
    name: str
    user_id: str | None
    approved_by_id: str | None
    status: JobResultStatus
    dry_run: bool
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    scheduled_job_id: str | None
    scheduled_for: datetime | None
    error: str | None
    output: str | None = None
    log: tuple[LogRecord, ...] = field(default=())
    log_count: int = 0
    """How many log lines it has; lists count them without loading them (``log`` is then empty)."""
    data: dict[str, Any] | None = None
    """The values it ran with; None for a job with sensitive variables (never stored)."""


@dataclass(frozen=True, kw_only=True)
class FinishedRun:
    """The outcome of a run, to record on its job result (only by the runner holding it).

    Attributes:
        job_result_id: the job result.
        status: ``completed``, ``failed`` or ``errored``.
        started_at: when the job really started (a worker may take it a little after the claim), or None to keep
            the claim's time.
        completed_at: when it ended.
        error: one line saying why it failed or errored, or None.
        output: what ``run()`` returned, as text, or None.
        log: its log lines, in order.
    """

    job_result_id: str
    status: JobResultStatus
    started_at: datetime | None
    completed_at: datetime
    error: str | None
    output: str | None
    log: tuple[LogRecord, ...]


@dataclass(frozen=True, kw_only=True)
class NewJobResult:
    """A job result to store: a run asked for now, or one due time of a scheduled job (to run, or missed).

    Storage assigns its id. A due time that already has a job result is never stored twice.

    Attributes:
        name: the job's name, shown with the result.
        approved_by_id: who approved the scheduled job it comes from, if anyone.
        data: the job's data; None for a job with sensitive variables (never stored) and for a missed due time.
        scheduled_job_id: the scheduled job it comes from (a due time, or a dry run of a pending request).
        scheduled_for: the due time it is for (None for a run asked for now and for a dry run).
        completed_at: set for a result created final (``missed``).
        error: why a result created final did not run.
        runner_id: the runner process it is pinned to (a job with sensitive variables: only that process has its data).
        lease_expires_at: when a pinned result that was not claimed in time may be errored.
    """

    job_id: str | None
    name: str
    user_id: str | None
    status: JobResultStatus = JobResultStatus.PENDING
    dry_run: bool = False
    data: dict[str, Any] | None = None
    created_at: datetime
    approved_by_id: str | None = None
    scheduled_job_id: str | None = None
    scheduled_for: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    runner_id: str | None = None
    lease_expires_at: datetime | None = None
    job_version: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the total number of items."""

    count: int
    items: Sequence[T]
