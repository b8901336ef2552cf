"""What happens to requests nobody decides: expiry, reminders and escalation, by their approval rule; and the redraw
of a one-off's approval messages once its start time has passed (past due).

Driven by the database, not by timers in memory: each pending request keeps the due time of its next expiry,
reminder or escalation (``approval_due_at``); :meth:`Deadlines.handle_due` finds the due ones and moves each by
compare-and-set, so that across any number of replicas exactly one of them expires a request, sends a reminder, or
escalates. Each is one write transaction with its audit event and outbox entries. Must not import Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.approval_rules import (
    DEFAULT_RULE,
    PAST_DUE_REDRAW,
    is_escalated,
    is_expired,
    next_reminder_at,
    past_due_redraw_at,
    to_remind,
)
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.records import ObjectType
from bot.domain.schedules import IntervalType
from bot.services.announcements import (
    announce_approval_request,
    announce_expiry,
    announce_reminder,
    group_target,
    refresh_approval_messages,
)
from bot.services.deps import ServiceDeps
from storage.repositories import Repositories
from storage.repositories.approval_deadlines import ApprovalDue

BATCH = 100


class Deadlines:
    """Expire, remind about and escalate pending requests when their approval rule says so.

    Args:
        deps: the database, policy and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def handle_due(self, now: datetime | None = None, *, limit: int = BATCH) -> int:
        """Handle every pending request whose expiry, reminder or escalation is due at ``now``.

        Returns:
            How many this call handled (one another replica handled first is not counted).
        """
        now = now or self._deps.clock()
        with self._deps.db.read() as session:
            due = Repositories(session).scheduled_jobs.list_approval_due(now, limit=limit)
        return sum(1 for item in due if self._handle(item, now))

    def earliest_due(self) -> datetime | None:
        """When something is next due (the loop sleeps until then)."""
        with self._deps.db.read() as session:
            return Repositories(session).scheduled_jobs.earliest_approval_due()

    def _handle(self, due: ApprovalDue, now: datetime) -> bool:
        deps = self._deps
        with deps.db.write() as session:
            repos = Repositories(session)
            if is_expired(due.expires_at, now):
                expired = repos.scheduled_jobs.expire(due.id, due_at=due.due_at, now=now)
                if expired is None:
                    return False
                repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.SCHEDULED_JOB_EXPIRE,
                                           object_type=ObjectType.SCHEDULED_JOB, object_id=due.id,
                                           detail={"approvals": len(expired.approvals),
                                                   "min_approvers": expired.min_approvers}), now=now)
                announce_expiry(repos, expired, now=now)
            else:
                record = repos.scheduled_jobs.get(due.id)
                if record is None:
                    return False
                rule = deps.policy.approval_rule(record.job.ref) if record.job else DEFAULT_RULE
                remind = due.remind_at is not None and due.remind_at <= now
                escalate = due.escalate_at is not None and due.escalate_at <= now
                remind_at = next_reminder_at(rule, record.asked_at, now) if remind else due.remind_at
                escalate_at = None if escalate else due.escalate_at
                one_off_later = record.interval is IntervalType.FUTURE
                redraw = one_off_later and due.due_at == record.start_time + PAST_DUE_REDRAW
                redraw_at = past_due_redraw_at(is_one_off_later=one_off_later, start_time=record.start_time, now=now)
                if not repos.scheduled_jobs.advance_approval_due(due, remind_at=remind_at, escalate_at=escalate_at,
                                                                 redraw_at=redraw_at, now=now):
                    return False
                if redraw:  # its start time passed: its messages now warn, and Approve asks for confirmation
                    refresh_approval_messages(repos, record.id, actor_id=None, now=now)
                if escalate and rule.escalates:
                    targets = [u for u in sorted(rule.escalate_user_ids) if u != record.user_id]
                    targets += sorted(group_target(g) for g in rule.escalate_usergroups)
                    announce_approval_request(deps, repos, record, now=now, targets=targets)
                    repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.SCHEDULED_JOB_ESCALATE,
                                               object_type=ObjectType.SCHEDULED_JOB, object_id=due.id,
                                               detail={"escalate_to": list(rule.escalate_to)}), now=now)
                if remind:
                    users: set[str] = set()
                    groups: set[str] = set()
                    if record.job is not None:
                        found_users, found_groups = deps.policy.approver_targets(record.job.ref,
                                                                                 requester_id=record.user_id)
                        users |= found_users
                        groups |= found_groups
                    if is_escalated(rule, record.asked_at, now):
                        users |= rule.escalate_user_ids
                        groups |= rule.escalate_usergroups
                    reminded = to_remind(users, record.approvals, requester_id=record.user_id)
                    announce_reminder(deps, repos, record, users=reminded, groups=groups, now=now)
                    repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.SCHEDULED_JOB_REMIND,
                                               object_type=ObjectType.SCHEDULED_JOB, object_id=due.id,
                                               detail={"users": list(reminded), "groups": sorted(groups)}), now=now)
        deps.wakeups()
        return True
