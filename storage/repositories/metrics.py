"""What ``GET /metrics`` reads from the database at scrape time: small aggregate queries on indexed columns.

Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.approvals import ApprovalState
from bot.domain.outbox import UNDELIVERED
from storage.models import JobResultRow, JobRow, OutboxRow, ScheduledJobRow


@dataclass(frozen=True, kw_only=True)
class FinishedRun:
    """A recorded run, as the run metrics count it.

    Attributes:
        job: the job's slug (``unknown`` when the job was removed).
        status: ``completed``, ``failed`` or ``errored``.
        dry_run: it ran with ``commit=False``.
        due_at: when it was due (its scheduled time, else when it was asked for).
        started_at: when a worker process began it, if it did.
        completed_at: when it ended.
    """

    job: str
    status: str
    dry_run: bool
    due_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class MetricsRepository:
    """Aggregates for the metrics endpoint."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def pending_approvals(self) -> tuple[int, datetime | None]:
        """How many active scheduled jobs await a decision, and when the oldest of them was requested."""
        row = self.session.execute(
            select(func.count(), func.min(ScheduledJobRow.created_at))
            .where(ScheduledJobRow.approval_state == ApprovalState.PENDING.value, ScheduledJobRow.enabled.is_(True))
        ).one()
        return int(row[0]), row[1]

    def outbox_backlog(self) -> dict[str, int]:
        """Notifications still to be delivered, per Slack channel (or user, or user group) they go to."""
        rows = self.session.execute(
            select(OutboxRow.channel, func.count())
            .where(OutboxRow.status.in_([status.value for status in UNDELIVERED]))
            .group_by(OutboxRow.channel)
        )
        return {str(channel): int(count) for channel, count in rows}

    def finished_runs(self, ids: Collection[str]) -> list[FinishedRun]:
        """The recorded runs among ``ids`` (job results by primary key)."""
        if not ids:
            return []
        rows = self.session.execute(
            select(JobRow.slug, JobResultRow.status, JobResultRow.dry_run, JobResultRow.scheduled_for,
                   JobResultRow.created_at, JobResultRow.started_at, JobResultRow.completed_at)
            .select_from(JobResultRow)
            .outerjoin(JobRow, JobRow.id == JobResultRow.job_id)
            .where(JobResultRow.id.in_(list(ids)))
        )
        return [
            FinishedRun(job=slug or "unknown", status=status, dry_run=bool(dry_run), due_at=scheduled_for or created,
                        started_at=started, completed_at=completed)
            for slug, status, dry_run, scheduled_for, created, started, completed in rows
        ]
