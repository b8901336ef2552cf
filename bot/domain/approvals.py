"""Approvals: deciding on a scheduled job that awaits approval (approve, deny, dry run).

Owns the approval states, the decision rules (who may decide, the self-approval rule, the past-due rule, "a decision
is made once") and their order, following Nautobot's ``ScheduledJobViewSet`` approve/deny/dry-run with the differences
listed in docs/nautobot-behaviour.md ("Where jobgate differs on purpose"). :func:`decide` returns what to persist; the
caller persists it and tells people.

Pure: stdlib only (plus the other domain modules). Must not import Slack, SQLAlchemy, storage or handlers. ``now`` is
always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.approval_rules import DEFAULT_RULE, ApprovalRule, Vote, counting_approvers, is_escalated, is_expired
from bot.domain.errors import (
    AlreadyDecidedError,
    DomainError,
    InvalidStateError,
    NotRunnableError,
    OwnRequestError,
    PastDueError,
    PermissionDeniedError,
)
from bot.domain.permissions import Actor, JobRef, Perm, Policy
from bot.domain.schedules import IntervalType
from bot.domain.versions import SHORT_VERSION, code_changed_note, run_version_mismatch, short_version

__all__ = [
    "APPROVE_DENIED_MESSAGE",
    "DENY_DENIED_MESSAGE",
    "DRY_RUN_DENIED_MESSAGE",
    "DRY_RUN_NOT_RUNNABLE_MESSAGE",
    "EXPIRED_MESSAGE",
    "PAST_DUE_MESSAGE",
    "REPEAT_APPROVAL_MESSAGE",
    "SELF_APPROVAL_MESSAGE",
    "SHORT_VERSION",
    "Action",
    "ApprovalState",
    "Decision",
    "RequestFacts",
    "already_decided",
    "approval_lapsed",
    "can_act",
    "code_changed_note",
    "decide",
    "is_escalation_approver",
    "is_past_due",
    "run_version_mismatch",
    "short_version",
    "version_to_approve",
]

PAST_DUE_MESSAGE = "The job's start time is in the past."
"""Refusal of a past-due approval that was not confirmed. Each edge adds how to confirm: the REST API Nautobot's
"If you want to force a run anyway, add the `force` query parameter.", Slack its confirmation or ``--force``."""

SELF_APPROVAL_MESSAGE = "You cannot approve your own job request!"
APPROVE_DENIED_MESSAGE = "You do not have permission to approve this request."
DENY_DENIED_MESSAGE = "You do not have permission to deny this request."
DRY_RUN_DENIED_MESSAGE = "You do not have permission to run this job."
DRY_RUN_NOT_RUNNABLE_MESSAGE = "This job cannot be dry-run at this time."
EXPIRED_MESSAGE = "This request has expired: nobody decided on it in time, and it will not run."
REPEAT_APPROVAL_MESSAGE = "You have already approved this request; it needs another approver."


class ApprovalState(StrEnum):
    """Where a scheduled job stands with respect to approval.

    PENDING: ``pending``, awaits a decision; it does not run until approved.
    APPROVED: ``approved``, approved; it runs on its schedule.
    DENIED: ``denied``, denied (or withdrawn by the requester); kept for the audit trail, never runs.
    NOT_REQUIRED: ``not_required``, its job does not need approval; it runs on its schedule.
    EXPIRED: ``expired``, still pending when its approval rule's ``expire_after`` ran out; kept, never runs.
    """

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    NOT_REQUIRED = "not_required"
    EXPIRED = "expired"


class Action(StrEnum):
    """What someone does to a request awaiting approval.

    APPROVE: ``approve``, let it run (on its schedule, or at once).
    DENY: ``deny``, refuse it; by its requester, withdraw it.
    DRY_RUN: ``dry_run``, run its job now with ``commit=False``; the request stays as it is.
    """

    APPROVE = "approve"
    DENY = "deny"
    DRY_RUN = "dry_run"


@dataclass(frozen=True, kw_only=True)
class RequestFacts:
    """What the rules need to know about a scheduled job (a request to run a job).

    Attributes:
        scheduled_job_id: its id.
        name: its name.
        requester_id: Slack user ID of who asked (None if that user is gone).
        job: the job it runs.
        interval: its schedule type.
        start_time: its first due instant (aware UTC).
        approval_state: where it stands with respect to approval.
        decided_by_id: Slack user ID of who approved or denied it, if decided.
        decided_at: when it was approved or denied, if decided.
        enabled: still active: False once cancelled, finished or denied (Nautobot's ``ScheduledJob.enabled``).
        not_runnable_reason: why its job cannot run now (disabled, not installed, code missing, sensitive and
            approval-required), or None when it is runnable.
        created_at: when the approvers were last asked (escalation counts from then).
        min_approvers: how many distinct approvers must approve it.
        approvals: the approvals recorded so far.
        expires_at: when it expires if still pending; None: never.
        rule: the approval rule in force for its job (who it escalates to, and when).
    """

    scheduled_job_id: str
    name: str
    requester_id: str | None
    job: JobRef
    interval: IntervalType
    start_time: datetime
    approval_state: ApprovalState
    decided_by_id: str | None = None
    decided_at: datetime | None = None
    enabled: bool = True
    not_runnable_reason: str | None = None
    created_at: datetime | None = None
    min_approvers: int = 1
    approvals: tuple[Vote, ...] = ()
    expires_at: datetime | None = None
    rule: ApprovalRule = DEFAULT_RULE


@dataclass(frozen=True)
class Decision:
    """The outcome of a successful :func:`decide`, to persist.

    Attributes:
        action: what was done.
        approval_state: the request's approval state afterwards (unchanged for a dry run).
        runs_at_once: whether the job should run now (an approved ``immediately`` or forced past-due request, or a
            dry run) rather than on its schedule.
        approvers: for an approval, the approvers that count with it (the quorum is reached when there are
            ``min_approvers`` of them); empty otherwise.
    """

    action: Action
    approval_state: ApprovalState
    runs_at_once: bool
    approvers: tuple[str, ...] = ()


def is_past_due(request: RequestFacts, now: datetime) -> bool:
    """Whether approving the request needs explicit confirmation because its start time has passed.

    Only a ``future`` (one-off) request can be past due. An ``immediately`` request never is: "as soon as possible"
    was what was asked (jobgate differs from Nautobot here on purpose). Recurring requests are never past-due-checked.
    """
    return request.interval == IntervalType.FUTURE and request.start_time < now


def already_decided(request: RequestFacts) -> AlreadyDecidedError:
    """The refusal of a second decision on ``request``: its state, who decided it and when.

    Its message names the decider by Slack user ID, e.g. ``"This request was already approved by U123 at 2030-01-01
    09:00 UTC."``; :meth:`AlreadyDecidedError.describe` words it with a Slack mention instead.
    """
    return AlreadyDecidedError(
        approval_state=request.approval_state, decided_by_id=request.decided_by_id, decided_at=request.decided_at
    )


def decide(
    request: RequestFacts,
    action: Action,
    *,
    actor: Actor,
    policy: Policy,
    now: datetime,
    force: bool = False,
) -> Decision:
    """Decide on a request: approve it, deny it, or dry-run its job.

    Checks run in Nautobot's order; the first that fails raises.

    Approve: ``change_scheduledjob`` on this scheduled job and ``approve_job`` on its job (or, once the request has
    escalated, membership of an ``escalate_to`` group) → pending → still active → not expired → not the requester
    (admins included) → not approved by this actor already → not past due, unless ``force`` → the job is runnable.
    The request is approved when ``min_approvers`` distinct approvers have approved; until then it stays pending.
    Deny: the requester may always withdraw their own request; anyone else needs ``delete_scheduledjob`` on this
    scheduled job and ``approve_job`` on its job (or escalation membership) → pending → still active → not expired.
    Dry run: ``view_scheduledjob`` on this scheduled job → the job is runnable → ``run_job`` on the job → not denied,
    still active.

    Scheduled-job permissions are checked against the request's job, so a ``jobs`` constraint on them applies.

    Args:
        request: the request.
        action: what to do.
        actor: who is doing it.
        policy: the permissions.
        now: the current instant (aware UTC).
        force: approve a past-due ``future`` request anyway (Slack: the confirmation dialog; API: ``?force=true``).

    Returns:
        The decision to persist.

    Raises:
        PermissionDeniedError: the actor may not do this (including approving their own request).
        AlreadyDecidedError: the request was already approved, denied or expired, or needs no approval.
        InvalidStateError: the request was cancelled or has finished (or, for a dry run, was denied), has expired,
            or the actor already approved it.
        PastDueError: a past-due ``future`` request and no ``force``.
        NotRunnableError: the job cannot run now.
    """
    if action == Action.APPROVE:
        return _approve(request, actor=actor, policy=policy, now=now, force=force)
    if action == Action.DENY:
        return _deny(request, actor=actor, policy=policy, now=now)
    return _dry_run(request, actor=actor, policy=policy)


def can_act(request: RequestFacts, action: Action, *, actor: Actor, policy: Policy, now: datetime) -> bool:
    """Whether :func:`decide` would succeed, ignoring ``force`` (for showing buttons).

    A past-due ``future`` request counts as approvable: the button leads to the confirmation step.
    """
    try:
        decide(request, action, actor=actor, policy=policy, now=now, force=True)
    except DomainError:
        return False
    return True


def is_escalation_approver(request: RequestFacts, actor: Actor, now: datetime) -> bool:
    """Whether the actor may decide on the request only because it has escalated to a group they belong to."""
    rule = request.rule
    if request.created_at is None or not is_escalated(rule, request.created_at, now):
        return False
    return actor.user_id in rule.escalate_user_ids or bool(actor.usergroups & rule.escalate_usergroups)


def _approve(request: RequestFacts, *, actor: Actor, policy: Policy, now: datetime, force: bool) -> Decision:
    if not is_escalation_approver(request, actor, now):
        if not policy.has_perm(actor, Perm.CHANGE_SCHEDULEDJOB):
            raise PermissionDeniedError(APPROVE_DENIED_MESSAGE)
        if not policy.has_perm(actor, Perm.APPROVE_JOB, request.job):
            raise PermissionDeniedError(APPROVE_DENIED_MESSAGE)
        if not policy.has_perm(actor, Perm.CHANGE_SCHEDULEDJOB, request.job):
            raise PermissionDeniedError(APPROVE_DENIED_MESSAGE)
    if request.approval_state != ApprovalState.PENDING:
        raise already_decided(request)
    if not request.enabled:
        raise InvalidStateError("This request was cancelled; there is nothing left to approve.")
    if is_expired(request.expires_at, now):
        raise InvalidStateError(EXPIRED_MESSAGE)
    if request.requester_id is not None and request.requester_id == actor.user_id:
        users, groups = policy.approver_targets(request.job, requester_id=request.requester_id)
        raise OwnRequestError(SELF_APPROVAL_MESSAGE, approver_ids=sorted(users), approver_groups=sorted(groups))
    if any(vote.user_id == actor.user_id for vote in request.approvals):
        raise InvalidStateError(REPEAT_APPROVAL_MESSAGE)
    past_due = is_past_due(request, now)
    if past_due and not force:
        raise PastDueError(PAST_DUE_MESSAGE, scheduled_job_id=request.scheduled_job_id, start_time=request.start_time)
    if request.not_runnable_reason is not None:
        raise NotRunnableError(request.not_runnable_reason)
    approvers = counting_approvers(
        (*request.approvals, Vote(actor.user_id, now)), requester_id=request.requester_id, expiry=request.expires_at
    )
    if len(approvers) < max(1, request.min_approvers):
        return Decision(Action.APPROVE, ApprovalState.PENDING, False, approvers)
    runs_at_once = request.interval == IntervalType.IMMEDIATELY or past_due
    return Decision(Action.APPROVE, ApprovalState.APPROVED, runs_at_once, approvers)


def _deny(request: RequestFacts, *, actor: Actor, policy: Policy, now: datetime) -> Decision:
    is_requester = request.requester_id is not None and request.requester_id == actor.user_id
    if not is_requester and not is_escalation_approver(request, actor, now) and not (
        policy.has_perm(actor, Perm.DELETE_SCHEDULEDJOB, request.job)
        and policy.has_perm(actor, Perm.APPROVE_JOB, request.job)
    ):
        raise PermissionDeniedError(DENY_DENIED_MESSAGE)
    if request.approval_state != ApprovalState.PENDING:
        raise already_decided(request)
    if not request.enabled:
        raise InvalidStateError("This request was cancelled; there is nothing left to deny.")
    if is_expired(request.expires_at, now):
        raise InvalidStateError(EXPIRED_MESSAGE)
    return Decision(Action.DENY, ApprovalState.DENIED, False)


def _dry_run(request: RequestFacts, *, actor: Actor, policy: Policy) -> Decision:
    if not policy.has_perm(actor, Perm.VIEW_SCHEDULEDJOB, request.job):
        raise PermissionDeniedError(DRY_RUN_DENIED_MESSAGE)
    if request.not_runnable_reason is not None:
        raise NotRunnableError(f"{DRY_RUN_NOT_RUNNABLE_MESSAGE} {request.not_runnable_reason}")
    if not policy.has_perm(actor, Perm.RUN_JOB, request.job):
        raise PermissionDeniedError(DRY_RUN_DENIED_MESSAGE)
    if request.approval_state == ApprovalState.DENIED:
        raise InvalidStateError("This request was denied; it cannot be dry-run.")
    if request.approval_state == ApprovalState.EXPIRED:
        raise InvalidStateError("This request has expired; it cannot be dry-run.")
    if not request.enabled:
        raise InvalidStateError("This request was cancelled or has finished; it cannot be dry-run.")
    return Decision(Action.DRY_RUN, request.approval_state, True)


# ------------------------------------------------------------------------------------------- code version pinning


def version_to_approve(*, request_version: str | None, job_version: str) -> str | None:
    """The code version an approval pins: the one the request shows (what was reviewed), else the job's current one."""
    return request_version or job_version or None


def approval_lapsed(
    *, approval_state: ApprovalState, approved_version: str | None, current_version: str | None
) -> bool:
    """Whether an approved request must not run on its approval any more: the job's code changed since.

    Approval is pinned to the code version that was reviewed; a request approved before versions were recorded (no
    approved version), or a job whose version is unknown, is not held back.
    """
    return (approval_state is ApprovalState.APPROVED and bool(approved_version) and bool(current_version)
            and approved_version != current_version)
