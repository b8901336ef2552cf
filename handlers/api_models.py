"""REST API shapes: the JSON of Nautobot 1.6's job endpoints as pydantic models (``handlers/api_render.py`` builds
them from the services' records).

The models document ``/api/schema/`` and serialise the responses, so the schema and the answers cannot drift apart.
Request-body models (``RunRequestIn``, ``DenyRequestIn``) only document the bodies: ``handlers/api_parse.py`` reads
them, with Nautobot's order and messages. Users appear as ``{"id": <Slack user ID>, "name": ...}``; jobgate stores no
display names, so ``name`` is the ID.

Pure data: no service calls, no I/O. Must not import sqlalchemy or storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from bot.domain.approvals import ApprovalState
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType

__all__ = [
    "ApprovalOut",
    "ApproveRequestIn",
    "BriefJobResultListOut",
    "BriefJobResultOut",
    "BriefScheduledJobListOut",
    "BriefScheduledJobOut",
    "DenyRequestIn",
    "ErrorOut",
    "FieldErrorsOut",
    "JobListOut",
    "JobOut",
    "JobResultListOut",
    "JobResultOut",
    "JobResultSummaryOut",
    "RunRequestIn",
    "RunResultOut",
    "ScheduleIn",
    "ScheduledJobListOut",
    "ScheduledJobOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------------------ nested


class UserOut(_Out):
    """A Slack user: the user ID, and a name (the ID itself, since jobgate keeps no display names)."""

    id: str = Field(description="Slack user ID, e.g. U0123ABCD.")
    name: str = Field(description="Display name when known; otherwise the Slack user ID.")


class ApprovalOut(_Out):
    """One approval of a request."""

    user: UserOut = Field(description="Who approved.")
    at: datetime = Field(description="When they approved.")
    comment: str | None = Field(description="What they said with it, if anything.")
    job_version: str | None = Field(
        description="The job's code version (sha256 of its module's source, hex) this approval was given for.")


class NestedJobOut(_Out):
    """A job in brief, as nested in scheduled jobs and job results."""

    id: str = Field(description="The job's UUID.")
    url: str
    slug: str = Field(description="<module>.<ClassName>")
    name: str
    display: str


class NestedScheduledJobOut(_Out):
    """A scheduled job in brief, as nested in a job result."""

    id: str
    url: str


class StatusOut(_Out):
    """A job result's status, as Nautobot shows choice fields."""

    value: JobResultStatus
    label: str


class LogEntryOut(_Out):
    """One entry of a job result's log."""

    created: datetime
    log_level: str = Field(description="debug, info, success, warning or failure.")
    log_object: str | None = None
    message: str


# ------------------------------------------------------------------------------------------------------ objects


class JobOut(_Out):
    """A job: what its code declares plus the operator's switches."""

    id: str = Field(description="The job's UUID.")
    url: str
    display: str
    slug: str
    name: str
    description: str
    grouping: str = Field(description="The module the job is in (Nautobot groups jobs by module).")
    module_name: str
    job_class_name: str
    enabled: bool
    installed: bool
    approval_required: bool
    has_sensitive_variables: bool
    hidden: bool
    soft_time_limit: float | None
    time_limit: float | None
    variables: dict[str, dict[str, Any]] = Field(description="The job's variables by name, as the code declares them.")


class ScheduledJobOut(_Out):
    """A scheduled job: its schedule, approval state and run counters."""

    id: str
    url: str
    display: str
    name: str
    description: str = Field(description="The schedule in words, with wall times in its time zone.")
    job_model: NestedJobOut | None = Field(description="The job it runs; null if the job was deleted.")
    user: UserOut | None = Field(description="Who requested it.")
    interval: IntervalType
    start_time: datetime
    crontab: str | None
    time_zone: str = Field(description="IANA time zone in which daily, weekly and custom schedules are read.")
    data: dict[str, Any] | None = Field(
        description="The job data it will run with; null for a job with sensitive variables (never stored)."
    )
    commit: bool
    approval_required: bool
    approval_state: ApprovalState
    min_approvers: int = Field(description="How many distinct approvers must approve it (its approval rule's).")
    approvals: list[ApprovalOut] = Field(description="The approvals so far, oldest first.")
    expires_at: datetime | None = Field(description="When it becomes `expired` if still pending; null: never.")
    approved_by_user: UserOut | None = Field(description="Who approved it (null unless approved).")
    approved_at: datetime | None
    decided_by_user: UserOut | None = Field(description="Who approved or denied it (null while pending).")
    decided_at: datetime | None
    decision_reason: str | None
    reason: str | None = Field(description="Why the requester asked for it (null: no reason given).")
    job_version: str | None = Field(
        description="The job's code version (sha256 of its module's source, hex) this request awaits or awaited "
                    "approval for.")
    approved_job_version: str | None = Field(
        description="The code version it was last approved for; a run whose job's code differs does not run and the "
                    "request awaits approval again.")
    enabled: bool = Field(description="False once denied, cancelled or finished (kept for the record).")
    paused: bool
    end_reason: str | None = Field(description="Why it ended: denied, cancelled, finished...; null while active.")
    ended_at: datetime | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    total_run_count: int
    created: datetime


class BriefScheduledJobOut(_Out):
    """A scheduled job in brief (``?brief=true``): Nautobot's nested scheduled-job fields."""

    id: str
    url: str
    display: str
    name: str
    start_time: datetime
    interval: IntervalType
    crontab: str | None


class JobResultSummaryOut(_Out):
    """One execution of a job as a list shows it: everything but the log lines (``log_count`` says how many)."""

    id: str
    url: str
    display: str
    name: str
    job_model: NestedJobOut | None
    user: UserOut | None = Field(description="Who it ran as (the requester for a scheduled run).")
    approved_by_user: UserOut | None = Field(description="Who approved the scheduled job it came from, if any.")
    status: StatusOut
    dry_run: bool
    created: datetime
    started: datetime | None
    completed: datetime | None
    scheduled_job: NestedScheduledJobOut | None
    scheduled_for: datetime | None = Field(description="The due time it ran for, for a scheduled run.")
    error: str | None = Field(description="Why it failed, could not run, or was interrupted (one line).")
    output: str | None = Field(description="What the job's run() returned, as text.")
    log_count: int = Field(description="How many log lines it has (GET …/job-results/{id}/ shows them).")


class JobResultOut(JobResultSummaryOut):
    """One execution of a job, with its status and log."""

    log: list[LogEntryOut]


class BriefJobResultOut(_Out):
    """A job result in brief (``?brief=true``): Nautobot's nested job-result fields."""

    id: str
    url: str
    display: str
    name: str
    created: datetime
    completed: datetime | None
    user: UserOut | None
    status: StatusOut


class RunResultOut(_Out):
    """What ``run`` created: exactly one of ``schedule`` and ``job_result`` is set."""

    schedule: ScheduledJobOut | None
    job_result: JobResultOut | None


class _ListOut(_Out):
    count: int
    next: str | None = Field(description="Absolute URL of the next page, or null.")
    previous: str | None = Field(description="Absolute URL of the previous page, or null.")


class JobListOut(_ListOut):
    """One page of jobs."""

    results: list[JobOut]


class ScheduledJobListOut(_ListOut):
    """One page of scheduled jobs."""

    results: list[ScheduledJobOut]


class BriefScheduledJobListOut(_ListOut):
    """One page of scheduled jobs in brief (``?brief=true``)."""

    results: list[BriefScheduledJobOut]


class JobResultListOut(_ListOut):
    """One page of job results, without their log lines."""

    results: list[JobResultSummaryOut]


class BriefJobResultListOut(_ListOut):
    """One page of job results in brief (``?brief=true``)."""

    results: list[BriefJobResultOut]


class ErrorOut(_Out):
    """An error: one sentence."""

    detail: str


class FieldErrorsOut(RootModel[dict[str, Any]]):
    """Invalid input, per field: ``{"field": ["message"]}``, nested for the schedule (``{"schedule": {"interval":
    [...]}}``) and under ``errors`` for job data (``{"errors": {"var": [...]}}`` or ``{"errors": [...]}``), or
    ``{"detail": "..."}`` for input that is invalid as a whole."""


# ------------------------------------------------------------------------------------------------- request bodies


class ScheduleIn(BaseModel):
    """When to run: omit the schedule (or use ``immediately``) to run now."""

    name: str | None = Field(None, max_length=255, description="Required for every interval except immediately.")
    interval: IntervalType
    start_time: datetime | None = Field(
        None,
        description="ISO 8601. Without an offset it is read in time_zone (default JOBGATE_TIME_ZONE). At least 15 "
        "seconds ahead; required except for immediately and custom.",
    )
    crontab: str | None = Field(None, max_length=255, description="5-field crontab, for custom only.")
    time_zone: str | None = Field(None, max_length=64, description="IANA time zone, e.g. Europe/Berlin.")
    reason: str | None = Field(None, max_length=500,
                               description="Why the run is asked for (optional): shown to the approvers and kept on "
                               "the scheduled job.")


class RunRequestIn(BaseModel):
    """A request to run a job now, later or on a schedule; ``commit: false`` is a dry run (no approval needed)."""

    data: dict[str, Any] = Field(default_factory=dict, description="The job's variables by name.")
    commit: bool | None = Field(True, description="False for a dry run.")
    schedule: ScheduleIn | None = None


class DenyRequestIn(BaseModel):
    """Why the request is denied (optional): ``reason``, ``comment``, or both."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)
    comment: str | None = Field(None, max_length=2000)


class ApproveRequestIn(BaseModel):
    """An optional comment kept with the approval."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=2000)
