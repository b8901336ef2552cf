"""Requests: the rules for asking to run a job, and for managing a scheduled job once it exists.

Owns whether a job is runnable (:func:`not_runnable_reason`), the checks on a run request in Nautobot's order and what
the request becomes (:func:`check_run_request` → :class:`RunPlan`), the same checks again when a run is about to start
(:func:`run_refusal_reason`), the checks on cancelling, pausing and resuming a scheduled job, and the "you may not see
it, so it is not found" rule (:func:`check_view`). Deciding on a request that
awaits approval lives in ``approvals.py``.

Pure: stdlib only (plus the other domain modules). Must not import Slack, SQLAlchemy, storage or handlers.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.approvals import ApprovalState, RequestFacts
from bot.domain.errors import (
    FieldErrors,
    InvalidScheduleError,
    InvalidStateError,
    JobDisabledError,
    NotFoundError,
    NotRunnableError,
    PermissionDeniedError,
    TooManyPendingError,
)
from bot.domain.permissions import Actor, JobRef, Perm, Policy
from bot.domain.schedules import IntervalType

__all__ = [
    "CANCELLED_BEFORE_RUN_MESSAGE",
    "CANCEL_PENDING_DENIED_MESSAGE",
    "CODE_MISSING_MESSAGE",
    "DISABLED_MESSAGE",
    "DRY_RUN_SCHEDULED_MESSAGE",
    "ENDED_MESSAGE",
    "JOB_GONE_MESSAGE",
    "MAX_REQUEST_REASON",
    "NOT_INSTALLED_MESSAGE",
    "NO_RUN_PERMISSION_MESSAGE",
    "SENSITIVE_AND_APPROVAL_MESSAGE",
    "SENSITIVE_DATA_GONE_MESSAGE",
    "SENSITIVE_SCHEDULE_MESSAGE",
    "JobFacts",
    "RunPlan",
    "check_cancel",
    "check_pause",
    "check_pending_limit",
    "check_resume",
    "check_run_request",
    "check_view",
    "clean_reason",
    "may_view",
    "not_runnable_reason",
    "run_refusal_reason",
]

NO_RUN_PERMISSION_MESSAGE = "This user does not have permission to run jobs."
DISABLED_MESSAGE = "This job is not enabled to be run."
NOT_INSTALLED_MESSAGE = "This job is not presently installed and cannot be run"
CODE_MISSING_MESSAGE = (
    "This job is not loaded by this server and cannot be run: its module is missing here or does not import "
    "('jobgate jobs list' names the error; a running server loads changed job modules within seconds)"
)
SENSITIVE_SCHEDULE_MESSAGE = "Unable to schedule job: Job may have sensitive input variables"
SENSITIVE_AND_APPROVAL_MESSAGE = (
    "Unable to run or schedule job: This job is flagged as possibly having sensitive variables but is also flagged as "
    "requiring approval. One of these two flags must be removed before this job can be scheduled or run: set "
    "has_sensitive_variables = False in the job's Meta (when its variables hold no secrets), or approval_required "
    "= False."
)
"""Nautobot's text, with the space it lacks after "approval." and how to fix it."""
JOB_GONE_MESSAGE = "The job no longer exists."
"""Why a scheduled job or run whose job record was deleted cannot run."""
CANCELLED_BEFORE_RUN_MESSAGE = "The scheduled job was cancelled before this run started."
SENSITIVE_DATA_GONE_MESSAGE = (
    "The data of this run is gone: a job with sensitive variables keeps its data only in the memory of the process "
    "that received the request, and that process stopped before running it."
)
DRY_RUN_SCHEDULED_MESSAGE = "A dry run runs at once; it cannot be scheduled."
ENDED_MESSAGE = "This scheduled job has already ended."

_AT_ONCE: frozenset[IntervalType | None] = frozenset({None, IntervalType.IMMEDIATELY})
_RECURRING = frozenset({IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY, IntervalType.CUSTOM})
_NOT_FOUND = {
    "extras.job": "Job not found.",
    "extras.scheduledjob": "Scheduled job not found.",
    "extras.jobresult": "Job result not found.",
}


@dataclass(frozen=True, kw_only=True)
class JobFacts:
    """What the rules need to know about a job.

    Attributes:
        job: its slug and name.
        enabled: whether it is enabled to run (a newly discovered job is not).
        installed: whether its class is currently installed.
        approval_required: whether requests to run it need approval.
        has_sensitive_variables: whether its data may be sensitive (it then runs only immediately, never scheduled).
        code_present: whether its source code could be located.
    """

    job: JobRef
    enabled: bool
    installed: bool
    approval_required: bool
    has_sensitive_variables: bool
    code_present: bool = True


@dataclass(frozen=True)
class RunPlan:
    """What a permitted run request becomes.

    Attributes:
        needs_approval: a scheduled job awaiting approval is created; nothing runs before it is approved.
        creates_scheduled_job: a scheduled job is created (for later, recurring, or awaiting approval).
        runs_at_once: a job result is created now (a run or dry run without approval, ``immediately`` or no schedule).
    """

    needs_approval: bool
    creates_scheduled_job: bool
    runs_at_once: bool


def not_runnable_reason(job: JobFacts | None) -> str | None:
    """Why the job cannot run now, or None if it can.

    The checks follow Nautobot's order: enabled, installed, sensitive and approval-required together, source code.

    Args:
        job: the job, or None when its record was deleted (it then never runs: :data:`JOB_GONE_MESSAGE`).
    """
    if job is None:
        return JOB_GONE_MESSAGE
    if not job.enabled:
        return DISABLED_MESSAGE
    if not job.installed:
        return NOT_INSTALLED_MESSAGE
    if job.has_sensitive_variables and job.approval_required:
        return SENSITIVE_AND_APPROVAL_MESSAGE
    if not job.code_present:
        return CODE_MISSING_MESSAGE
    return None


def run_refusal_reason(
    job: JobFacts | None,
    *,
    scheduled_job_cancelled: bool,
    dry_run: bool,
    sensitive_data_present: bool,
) -> str | None:
    """Why a run that is about to start must not start, or None: the request's rules, checked again at run time.

    Between a request and its run the job may have been disabled, uninstalled, deleted or had its code removed, and the
    scheduled job may have been cancelled. The checks, in order: :func:`not_runnable_reason` (the job exists, is
    enabled, is installed, is not both sensitive and approval-required, its code is present: the same order and words
    as a request gets), then the scheduled job was not cancelled (a dry run of it may still run), then the data of a
    job with sensitive variables is still at hand (it lives only in the memory of the process that took the request).

    Args:
        job: the job, with ``code_present`` saying whether the runner can load its class; None if it was deleted.
        scheduled_job_cancelled: the run comes from a scheduled job that has since been cancelled.
        dry_run: the run is a dry run (``commit=False``).
        sensitive_data_present: the run's data is in this process's memory. It matters only for a job with sensitive
            variables, whose data is never stored: it is gone when the process that received the request stopped.

    Returns:
        The sentence to record as the run's error and log, or None when the run may start.
    """
    reason = not_runnable_reason(job)
    if reason is not None:
        return reason
    if scheduled_job_cancelled and not dry_run:
        return CANCELLED_BEFORE_RUN_MESSAGE
    assert job is not None  # not_runnable_reason refused a deleted job
    if job.has_sensitive_variables and not sensitive_data_present:
        return SENSITIVE_DATA_GONE_MESSAGE
    return None


def check_run_request(
    job: JobFacts,
    *,
    actor: Actor,
    policy: Policy,
    interval: IntervalType | None,
    dry_run: bool,
) -> RunPlan:
    """Check a request to run (or schedule, or dry-run) a job, and say what it becomes.

    Checks run in Nautobot's order (docs/nautobot-behaviour.md §2a); the first that fails raises. Validating the
    schedule itself (name, start time, crontab) and the job data is done elsewhere, after these checks.

    Args:
        job: the job.
        actor: who asks.
        policy: the permissions.
        interval: the requested schedule type; None when no schedule was given (run now).
        dry_run: run with ``commit=False``; never needs approval and always runs at once.

    Returns:
        The plan: whether it needs approval, creates a scheduled job, runs at once.

    Raises:
        PermissionDeniedError: no ``run_job`` permission at all.
        NotFoundError: ``run_job`` is not granted on this job (a constraint excludes it).
        JobDisabledError: the job is not enabled.
        NotRunnableError: the job is not installed, or its code is missing.
        InvalidScheduleError: a sensitive job (or a dry run) with a schedule other than ``immediately``.
        FieldErrors: the job is both sensitive and approval-required.
    """
    if not policy.has_perm(actor, Perm.RUN_JOB):
        raise PermissionDeniedError(NO_RUN_PERMISSION_MESSAGE)
    if not policy.has_perm(actor, Perm.RUN_JOB, job.job):
        raise NotFoundError(_NOT_FOUND["extras.job"])
    if not job.enabled:
        raise JobDisabledError(DISABLED_MESSAGE)
    if not job.installed:
        raise NotRunnableError(NOT_INSTALLED_MESSAGE)
    if job.has_sensitive_variables and interval not in _AT_ONCE:
        raise InvalidScheduleError({"interval": [SENSITIVE_SCHEDULE_MESSAGE]})
    if job.has_sensitive_variables and job.approval_required:
        raise FieldErrors([SENSITIVE_AND_APPROVAL_MESSAGE])
    if not job.code_present:
        raise NotRunnableError(CODE_MISSING_MESSAGE)
    if dry_run:
        if interval not in _AT_ONCE:
            raise InvalidScheduleError({"interval": [DRY_RUN_SCHEDULED_MESSAGE]})
        return RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True)
    if job.approval_required:
        return RunPlan(needs_approval=True, creates_scheduled_job=True, runs_at_once=False)
    if interval in _AT_ONCE:
        return RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True)
    return RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)


CANCEL_PENDING_DENIED_MESSAGE = (
    "You do not have permission to cancel this request: it is waiting for approval, and ending someone else's "
    "request denies it, which needs approve_job on its job and delete_scheduledjob."
)


def check_pending_limit(pending: int, *, limit: int) -> None:
    """Check that a requester may add one more request waiting for approval.

    Each request waiting for approval asks approvers by message, and those messages go out at Slack's pace, so one
    person (or their script) may have at most ``limit`` of them at once (``JOBGATE_MAX_PENDING_PER_USER``).

    Args:
        pending: how many of the requester's requests wait for approval now.
        limit: how many one person may have.

    Raises:
        TooManyPendingError: ``pending`` already reached ``limit``.
    """
    if pending >= limit:
        raise TooManyPendingError(
            f"You have {pending} requests waiting for approval (at most {limit} per person); withdraw one or wait "
            "for a decision."
        )


def check_cancel(request: RequestFacts, *, actor: Actor, policy: Policy) -> bool:
    """Check that the actor may cancel the scheduled job (stop it for good), and say whether that is a denial.

    The requester may always cancel their own; anyone else needs ``delete_scheduledjob`` on it. Ending someone
    else's request that still awaits approval is a denial, so it needs what denying needs (``approve_job`` on its job
    and ``delete_scheduledjob``) and is recorded as a denial by the actor.

    Returns:
        True when the cancel ends someone else's pending request: it is to be recorded as a denial.

    Raises:
        PermissionDeniedError: the actor may not cancel it.
        InvalidStateError: it has already ended (cancelled, finished or denied).
    """
    _check_manage(request, actor=actor, policy=policy, perm=Perm.DELETE_SCHEDULEDJOB, verb="cancel")
    _check_not_ended(request)
    is_requester = request.requester_id is not None and request.requester_id == actor.user_id
    if is_requester or request.approval_state != ApprovalState.PENDING:
        return False
    if not policy.has_perm(actor, Perm.APPROVE_JOB, request.job):
        raise PermissionDeniedError(CANCEL_PENDING_DENIED_MESSAGE)
    return True


def check_pause(request: RequestFacts, *, actor: Actor, policy: Policy, paused: bool) -> None:
    """Check that the actor may pause the scheduled job (skip its due times until resumed).

    The requester may always pause their own; anyone else needs ``change_scheduledjob`` on it.

    Args:
        request: the scheduled job.
        actor: who asks.
        policy: the permissions.
        paused: whether it is paused now.

    Raises:
        PermissionDeniedError: the actor may not pause it.
        InvalidStateError: it has ended, is not recurring, or is already paused.
    """
    _check_manage(request, actor=actor, policy=policy, perm=Perm.CHANGE_SCHEDULEDJOB, verb="pause")
    _check_not_ended(request)
    if request.interval not in _RECURRING:
        raise InvalidStateError("Only recurring scheduled jobs can be paused.")
    if paused:
        raise InvalidStateError("This scheduled job is already paused.")


def check_resume(request: RequestFacts, *, actor: Actor, policy: Policy, paused: bool) -> None:
    """Check that the actor may resume the paused scheduled job.

    The requester may always resume their own; anyone else needs ``change_scheduledjob`` on it.

    Args:
        request: the scheduled job.
        actor: who asks.
        policy: the permissions.
        paused: whether it is paused now.

    Raises:
        PermissionDeniedError: the actor may not resume it.
        InvalidStateError: it has ended or is not paused.
    """
    _check_manage(request, actor=actor, policy=policy, perm=Perm.CHANGE_SCHEDULEDJOB, verb="resume")
    _check_not_ended(request)
    if not paused:
        raise InvalidStateError("This scheduled job is not paused.")


def may_view(job: JobRef | None, *, actor: Actor, policy: Policy, perm: Perm, user_id: str | None = None) -> bool:
    """Whether the actor may see an object of ``job`` (the job, or a scheduled job or job result of it).

    The user of a scheduled job or job result (the scheduled job's requester; the user the job result ran as, who is
    the requester or, for a dry run of a pending request, whoever asked for it) always sees it. A job is also visible
    to whoever may run it. Otherwise ``perm`` is needed on the job (model-level when the job is gone).

    Args:
        job: the job (for a scheduled job or job result: the job it runs), or None if it was deleted.
        actor: who asks.
        policy: the permissions.
        perm: the view permission, e.g. ``Perm.VIEW_SCHEDULEDJOB``.
        user_id: the Slack user ID the object belongs to (the record's ``user_id``), if it has one.
    """
    if user_id is not None and user_id == actor.user_id:
        return True
    if policy.has_perm(actor, perm, job):
        return True
    return perm is Perm.VIEW_JOB and policy.has_perm(actor, Perm.RUN_JOB, job)


def check_view(
    job: JobRef | None, *, actor: Actor, policy: Policy, perm: Perm, user_id: str | None = None
) -> None:
    """Check :func:`may_view`.

    Raises:
        NotFoundError: the actor may not see it; like Nautobot, an object outside the actor's constraints is not
            found rather than forbidden.
    """
    if not may_view(job, actor=actor, policy=policy, perm=perm, user_id=user_id):
        raise NotFoundError(_NOT_FOUND.get(perm.object_type, "Not found."))


def _check_manage(request: RequestFacts, *, actor: Actor, policy: Policy, perm: Perm, verb: str) -> None:
    """The requester may manage their own scheduled job; anyone else needs ``perm`` on it."""
    if request.requester_id is not None and request.requester_id == actor.user_id:
        return
    if not policy.has_perm(actor, perm, request.job):
        raise PermissionDeniedError(f"You do not have permission to {verb} this scheduled job.")


def _check_not_ended(request: RequestFacts) -> None:
    if not request.enabled or request.approval_state == ApprovalState.DENIED:
        raise InvalidStateError(ENDED_MESSAGE)


MAX_REQUEST_REASON = 500
"""The most characters a run request's reason (why it is asked for) may have: a sentence or two for the approvers."""


def clean_reason(reason: str | None) -> str | None:
    """Why a run is asked for, as stored: stripped, None when blank.

    Raises:
        InvalidScheduleError: under ``reason``, longer than :data:`MAX_REQUEST_REASON` characters.
    """
    text = (reason or "").strip() or None
    if text is not None and len(text) > MAX_REQUEST_REASON:
        raise InvalidScheduleError({"reason": [
            f"Ensure the reason has at most {MAX_REQUEST_REASON} characters (it has {len(text)})."]})
    return text
