"""The audit trail: one event per state change, written in the transaction that makes the change.

Must not import Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.audit import AuditEvent, AuditRecord
from bot.domain.records import ObjectType
from storage.models import AuditEventRow
from storage.repositories._records import audit_record


class AuditRepository:
    """The audit_events table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: AuditEvent, *, now: datetime) -> None:
        """Record a state change made at ``now``."""
        self.session.add(AuditEventRow(created_at=now, actor_id=event.actor_id, action=event.action.value,
                                       object_type=event.object_type.value, object_id=event.object_id,
                                       detail=dict(event.detail)))

    def list_for(self, object_type: ObjectType, object_id: str) -> list[AuditRecord]:
        """The events of one object, oldest first."""
        return [audit_record(row) for row in self.session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.object_type == object_type.value, AuditEventRow.object_id == object_id)
            .order_by(AuditEventRow.id)
        )]

    def list_recent(self, *, limit: int) -> list[AuditRecord]:
        """The latest ``limit`` events of any object, oldest of them first."""
        rows = list(self.session.scalars(select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)))
        return [audit_record(row) for row in reversed(rows)]
