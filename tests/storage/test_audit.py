"""AuditRepository on real databases: events are kept in order, per object and overall."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.records import ObjectType
from storage.db import Database
from tests.storage.conftest import NOW, read, write


def test_events_are_kept_in_order_per_object_and_overall(database: Database) -> None:
    with write(database) as repos:
        repos.audit.add(AuditEvent(actor_id="UALICE", action=AuditAction.SCHEDULED_JOB_REQUEST,
                                   object_type=ObjectType.SCHEDULED_JOB, object_id="s1",
                                   detail={"job": "jobs.Backup"}), now=NOW)
        repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.JOB_ENABLE, object_type=ObjectType.JOB,
                                   object_id="j1"), now=NOW + timedelta(seconds=1))
        repos.audit.add(AuditEvent(actor_id="UAPPROVER", action=AuditAction.SCHEDULED_JOB_APPROVE,
                                   object_type=ObjectType.SCHEDULED_JOB, object_id="s1"),
                        now=NOW + timedelta(seconds=2))
    with read(database) as repos:
        trail = repos.audit.list_for(ObjectType.SCHEDULED_JOB, "s1")
        recent = repos.audit.list_recent(limit=2)
        assert repos.audit.list_for(ObjectType.JOB_RESULT, "s1") == []
    assert [(e.actor_id, e.action, e.created_at, e.detail) for e in trail] == [
        ("UALICE", AuditAction.SCHEDULED_JOB_REQUEST, NOW, {"job": "jobs.Backup"}),
        ("UAPPROVER", AuditAction.SCHEDULED_JOB_APPROVE, NOW + timedelta(seconds=2), {}),
    ]
    assert [(e.action, e.object_type, e.object_id) for e in recent] == [
        (AuditAction.JOB_ENABLE, ObjectType.JOB, "j1"),
        (AuditAction.SCHEDULED_JOB_APPROVE, ObjectType.SCHEDULED_JOB, "s1"),
    ]
    assert recent[1] == trail[1]
