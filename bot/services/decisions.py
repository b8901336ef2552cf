"""Decisions on a request awaiting approval: approve, deny (or withdraw), dry-run.

Each is one write transaction: the domain decides (``bot.domain.approvals.decide``), a compare-and-set records the
decision only if the request is still pending, and the audit event and outbox entries are written with it. Must not
import Slack or handlers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from bot.domain import approvals, schedules
from bot.domain.approvals import Action, ApprovalState
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.errors import FieldErrors, InvalidStateError
from bot.domain.outbox import OutboxKind
from bot.domain.permissions import Actor
from bot.domain.records import JobResultRecord, NewJobResult, ObjectType, ScheduledJobRecord
from bot.services import activity
from bot.services.announcements import announce_decision, announce_progress
from bot.services.deps import ServiceDeps, get_scheduled_job, request_facts
from storage.repositories import Repositories

MAX_REASON = 2000


class Decisions:
    """Approve, deny and dry-run requests awaiting approval.

    Args:
        deps: the database, policy, catalog and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def approve_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, force: bool = False, comment: str | None = None,
        now: datetime | None = None,
    ) -> ScheduledJobRecord:
        """Approve a pending request: record this approval (with its optional comment), and once ``min_approvers``
        distinct approvers have approved, approve the request (exactly once, however many approve at the same time).
        A ``future`` request past its start needs ``force`` on every approval, and then runs at once.

        Args:
            comment: the approver's optional comment, kept on this approval and shown with it.

        Raises:
            PermissionDeniedError, NotFoundError, AlreadyDecidedError, PastDueError, NotRunnableError,
            InvalidStateError (expired, or already approved by this actor), FieldErrors (comment too long).
        """
        deps = self._deps
        now = now or deps.clock()
        comment = _text("comment", comment)
        with deps.db.write() as session:
            repos = Repositories(session)
            record = get_scheduled_job(repos, scheduled_job_id)
            # Approvals towards a quorum are counted one after another: hold the row, and read it as it stands then.
            # A request one approval decides needs no hold: of two approvers at once, the compare-and-set of the
            # decision lets exactly one win.
            if record.min_approvers > 1 and repos.scheduled_jobs.lock_for_decision(record.id):
                record = get_scheduled_job(repos, record.id)
            decision = approvals.decide(
                request_facts(deps, record), Action.APPROVE, actor=actor, policy=deps.policy, now=now, force=force
            )
            version = approvals.version_to_approve(request_version=record.job_version,
                                                   job_version=record.job.version if record.job else "")
            vote = repos.scheduled_jobs.add_approval(record.id, user_id=actor.user_id, at=now, comment=comment,
                                                     job_version=version)
            if vote is None:
                self._refuse_repeat(repos, record.id)
            if decision.approval_state is ApprovalState.PENDING:  # more approvals needed
                announce_progress(repos, record, actor=actor, now=now, audit=AuditEvent(
                    actor_id=actor.user_id, action=AuditAction.SCHEDULED_JOB_APPROVE,
                    object_type=ObjectType.SCHEDULED_JOB, object_id=record.id,
                    detail={"force": force, "approvals": len(decision.approvers),
                            "min_approvers": record.min_approvers}))
                # Still pending, with this approval listed (the row is held: nothing else changed it).
                approved = replace(record, approvals=tuple(sorted((*record.approvals, vote), key=lambda v: v.at)))
            else:
                approved = self._approve(repos, record, decision=decision, actor=actor, force=force, version=version,
                                         now=now)
        activity.approved(approved, actor)
        deps.wakeups()
        return approved

    def _approve(self, repos: Repositories, record: ScheduledJobRecord, *, decision: approvals.Decision,
                 actor: Actor, force: bool, version: str | None, now: datetime) -> ScheduledJobRecord:
        """The last approval needed: approve the request for the code version ``version`` (the one every counted
        approval was given for), if still pending (compare-and-set), in the same transaction."""
        next_run = now if decision.runs_at_once else schedules.first_run_from(record.schedule, now)
        approved = repos.scheduled_jobs.decide(
            record.id, approval_state=ApprovalState.APPROVED, decided_by_id=actor.user_id, decided_at=now,
            reason=None, next_run_at=next_run, end=False,
            approved_job_version=version, wake=True,
        )
        if approved is None:
            self._refuse_lost_race(repos, record.id)
        announce_decision(repos, record, kind=OutboxKind.REQUEST_APPROVED, actor=actor, now=now, audit=AuditEvent(
            actor_id=actor.user_id, action=AuditAction.SCHEDULED_JOB_APPROVE, object_type=ObjectType.SCHEDULED_JOB,
            object_id=record.id, detail={"force": force, "approvals": len(decision.approvers),
                                         "min_approvers": record.min_approvers}))
        return approved

    def deny_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, reason: str | None = None, now: datetime | None = None
    ) -> ScheduledJobRecord:
        """Deny a pending request (or withdraw one's own). The request is kept, with who, when and why."""
        deps = self._deps
        now = now or deps.clock()
        reason = _text("reason", reason)
        with deps.db.write() as session:
            repos = Repositories(session)
            record = get_scheduled_job(repos, scheduled_job_id)
            approvals.decide(request_facts(deps, record), Action.DENY, actor=actor, policy=deps.policy, now=now)
            denied = record_denial(deps, repos, record, actor=actor, reason=reason, now=now)
        activity.denied(denied, actor)
        return denied

    def dry_run_scheduled_job(
        self, *, actor: Actor, scheduled_job_id: str, now: datetime | None = None
    ) -> JobResultRecord:
        """Run a pending request now with ``commit=False``, as the actor; the request stays as it is."""
        deps = self._deps
        now = now or deps.clock()
        with deps.db.write() as session:
            repos = Repositories(session)
            record = get_scheduled_job(repos, scheduled_job_id)
            approvals.decide(request_facts(deps, record), Action.DRY_RUN, actor=actor, policy=deps.policy, now=now)
            assert record.job is not None  # decide() refuses a request whose job is gone
            result = repos.job_results.add(NewJobResult(
                job_id=record.job.id, scheduled_job_id=record.id, name=record.job.name, user_id=actor.user_id,
                dry_run=True, data=record.data, created_at=now,
            ))
            repos.audit.add(AuditEvent(actor_id=actor.user_id, action=AuditAction.SCHEDULED_JOB_DRY_RUN,
                                       object_type=ObjectType.SCHEDULED_JOB, object_id=record.id,
                                       detail={"job_result_id": result.id}), now=now)
            repos.scheduled_jobs.notify_wakeup()
        activity.requested_run(result)
        deps.wakeups()
        return result

    def _refuse_lost_race(self, repos: Repositories, scheduled_job_id: str) -> NoReturn:
        refuse_lost_race(self._deps, repos, scheduled_job_id)

    def _refuse_repeat(self, repos: Repositories, scheduled_job_id: str) -> NoReturn:
        """This approver's approval is already recorded: said as "already approved by …" when that approval (made at
        the same moment, a double click) decided the request, else as a repeated approval."""
        current = request_facts(self._deps, get_scheduled_job(repos, scheduled_job_id))
        if current.approval_state is not ApprovalState.PENDING:
            raise approvals.already_decided(current)
        raise InvalidStateError(approvals.REPEAT_APPROVAL_MESSAGE)


def record_denial(deps: ServiceDeps, repos: Repositories, record: ScheduledJobRecord, *, actor: Actor,
                  reason: str | None, now: datetime) -> ScheduledJobRecord:
    """Record a denial (or the requester's withdrawal) the domain allowed, with its audit event and messages.

    Used by deny, and by cancel when it ends someone else's pending request.
    """
    denied = repos.scheduled_jobs.decide(
        record.id, approval_state=ApprovalState.DENIED, decided_by_id=actor.user_id, decided_at=now,
        reason=reason, next_run_at=None, end=True,
    )
    if denied is None:
        refuse_lost_race(deps, repos, record.id)
    withdrawn = actor.user_id == record.user_id
    action = AuditAction.SCHEDULED_JOB_WITHDRAW if withdrawn else AuditAction.SCHEDULED_JOB_DENY
    announce_decision(repos, record, kind=OutboxKind.REQUEST_DENIED, actor=actor, now=now, audit=AuditEvent(
        actor_id=actor.user_id, action=action, object_type=ObjectType.SCHEDULED_JOB, object_id=record.id,
        detail={"reason": reason}))
    return denied


def refuse_lost_race(deps: ServiceDeps, repos: Repositories, scheduled_job_id: str) -> NoReturn:
    """Another decision (or a cancel) committed first: say what happened, from the row as it now stands."""
    current = request_facts(deps, get_scheduled_job(repos, scheduled_job_id))
    if current.approval_state is ApprovalState.PENDING:
        raise InvalidStateError("This request was cancelled; there is nothing left to decide.")
    raise approvals.already_decided(current)


def _text(field: str, value: str | None) -> str | None:
    """A reason or comment as stored: stripped, None when blank.

    Raises:
        FieldErrors: longer than ``MAX_REASON`` characters.
    """
    value = (value or "").strip() or None
    if value is not None and len(value) > MAX_REASON:
        raise FieldErrors({field: [f"Ensure this value has at most {MAX_REASON} characters."]})
    return value
