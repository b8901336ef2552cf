"""The approval deadlines of pending requests: finding those whose expiry, reminder or escalation is due, expiring
them, and moving them past the reminder or escalation handled (what ``bot.services.deadlines`` drives).

Part of ``ScheduledJobRepository`` (a mixin, so callers keep one repository). Each move is a compare-and-set on the
due time read (``approval_due_at``), so exactly one replica handles each deadline. Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.domain.approval_rules import approval_due_at
from bot.domain.approvals import ApprovalState
from bot.domain.records import EndReason, ScheduledJobRecord
from storage.models import ScheduledJobRow


@dataclass(frozen=True, kw_only=True)
class ApprovalDue:
    """A pending request whose expiry, reminder or escalation is due, as the approval loop read it."""

    id: str
    due_at: datetime
    expires_at: datetime | None
    remind_at: datetime | None
    escalate_at: datetime | None


class ApprovalDeadlines:
    """The expiry, reminders and escalation of pending requests (mixed into ``ScheduledJobRepository``)."""

    session: Session
    _change: Callable[..., ScheduledJobRecord | None]
    """One conditional update of one scheduled job: the record as written, or None (``ScheduledJobRepository``)."""

    def list_approval_due(self, now: datetime, *, limit: int) -> list[ApprovalDue]:
        """Pending requests with an expiry, reminder or escalation due at ``now``, oldest first (by the partial index
        on ``approval_due_at``)."""
        rows = self.session.execute(
            select(ScheduledJobRow.id, ScheduledJobRow.approval_due_at, ScheduledJobRow.expires_at,
                   ScheduledJobRow.remind_at, ScheduledJobRow.escalate_at)
            .where(ScheduledJobRow.approval_due_at.is_not(None), ScheduledJobRow.approval_due_at <= now)
            .order_by(ScheduledJobRow.approval_due_at, ScheduledJobRow.id)
            .limit(limit)
        ).all()
        return [ApprovalDue(id=r[0], due_at=r[1],  # type: ignore[arg-type]  # not NULL: the query says so
                            expires_at=r[2], remind_at=r[3], escalate_at=r[4]) for r in rows]

    def earliest_approval_due(self) -> datetime | None:
        """When the approval loop next has something to do."""
        return self.session.scalar(
            select(func.min(ScheduledJobRow.approval_due_at)).where(ScheduledJobRow.approval_due_at.is_not(None))
        )

    def expire(self, scheduled_job_id: str, *, due_at: datetime, now: datetime) -> ScheduledJobRecord | None:
        """End a pending request as ``expired`` if it is still pending at the due time read (compare-and-set);
        None when someone decided, cancelled or another replica expired it first."""
        return self._change(
            ScheduledJobRow.id == scheduled_job_id,
            ScheduledJobRow.approval_due_at == due_at,
            ScheduledJobRow.approval_state == ApprovalState.PENDING.value,
            ScheduledJobRow.enabled,
            approval_state=ApprovalState.EXPIRED.value, enabled=False, next_run_at=None,
            end_reason=EndReason.EXPIRED.value, ended_at=now, remind_at=None, escalate_at=None, approval_due_at=None,
            updated_at=now,
        )

    def advance_approval_due(
        self, due: ApprovalDue, *, remind_at: datetime | None, escalate_at: datetime | None, now: datetime,
        redraw_at: datetime | None = None,
    ) -> bool:
        """Move a pending request past the reminder, escalation or past-due redraw just handled (compare-and-set on
        the due time read): True for exactly one caller, whatever the number of replicas.

        Args:
            redraw_at: when its messages are still to be drawn again as past due, or None.
        """
        row = self.session.execute(
            update(ScheduledJobRow)
            .where(ScheduledJobRow.id == due.id, ScheduledJobRow.approval_due_at == due.due_at,
                   ScheduledJobRow.approval_state == ApprovalState.PENDING.value, ScheduledJobRow.enabled)
            .values(remind_at=remind_at, escalate_at=escalate_at,
                    approval_due_at=approval_due_at(due.expires_at, remind_at, escalate_at, redraw_at),
                    updated_at=now)
            .returning(ScheduledJobRow.id)
            .execution_options(synchronize_session=False)
        ).first()
        return row is not None

