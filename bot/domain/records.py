"""Read models: what services hand to the edges (Slack, REST API, CLI) to render.

Plain frozen dataclasses built by ``storage.repositories`` from rows. Pure: must not import Slack, SQLAlchemy or
storage. Values of jobs with sensitive variables never appear here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.domain.approvals import ApprovalState, RequestFacts
from bot.domain.permissions import JobRef
from bot.domain.requests import JobFacts
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType, Schedule

T = TypeVar("T")

DELETED_JOB = JobRef(slug="(deleted job)", name="(deleted job)")
"""Stands for the job of a scheduled job whose job record was deleted."""


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
    end_reason: str | None
    ended_at: datetime | None
    ended_by_id: str | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    total_run_count: int
    created_at: datetime

    @property
    def schedule(self) -> Schedule:
        return Schedule(
            interval=self.interval,
            start_at=self.start_time,
            crontab=self.crontab,
            time_zone=self.time_zone,
            name=self.name,
        )

    def facts(self, *, not_runnable_reason: str | None = None) -> RequestFacts:
        """What the approval rules need to know about this scheduled job.

        Args:
            not_runnable_reason: why its job cannot run now (the caller knows the job's code), or None.
        """
        return RequestFacts(
            scheduled_job_id=self.id,
            name=self.name,
            requester_id=self.user_id,
            job=self.job.ref if self.job else DELETED_JOB,
            interval=self.interval,
            start_at=self.start_time,
            approval_state=self.approval_state,
            decided_by_id=self.decided_by_id,
            decided_at=self.decided_at,
            is_active=self.enabled,
            not_runnable_reason=not_runnable_reason,
        )


@dataclass(frozen=True, kw_only=True)
class LogRecord:
    """One line of a job result's log."""

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
    log: tuple[LogRecord, ...] = field(default=())


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the total number of items."""

    count: int
    items: Sequence[T]
