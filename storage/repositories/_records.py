"""Rows to domain records and back: the one place that knows which column holds which field.

Private to ``storage.repositories``. Must not import Slack or handlers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from bot.domain.approval_rules import Vote
from bot.domain.approvals import ApprovalState
from bot.domain.audit import AuditAction, AuditRecord
from bot.domain.outbox import OutboxEntry, OutboxKind, OutboxStatus
from bot.domain.records import (
    EndReason,
    JobRecord,
    JobResultRecord,
    LogRecord,
    NewJobResult,
    NewScheduledJob,
    ObjectType,
    ScheduledJobRecord,
)
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from storage.models import ApprovalRow, AuditEventRow, JobLogEntryRow, JobResultRow, JobRow, OutboxRow, ScheduledJobRow

Returned = Row[*tuple[Any, ...]]
"""The columns an ``INSERT``/``UPDATE ... RETURNING`` gave back: read like an ORM row."""


def new_id() -> str:
    """A new primary key for the tables keyed by UUID."""
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def job_record(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        module_name=row.module_name,
        class_name=row.class_name,
        source=row.source,
        enabled=row.enabled,
        installed=row.installed,
        approval_required=row.approval_required,
        has_sensitive_variables=row.has_sensitive_variables,
        hidden=row.hidden,
        soft_time_limit=row.soft_time_limit,
        time_limit=row.time_limit,
        variables=dict(row.variables or {}),
        version=row.version or "",
        grouping=row.grouping or "",
    )


def scheduled_job_record(
    row: ScheduledJobRow | Returned, job: JobRow | None, approvals: Iterable[ApprovalRow | Returned] = ()
) -> ScheduledJobRecord:
    """The record of a scheduled job row (an ORM row, or the columns an ``UPDATE ... RETURNING`` gave back), with its
    approvals in the order they were made."""
    return ScheduledJobRecord(
        id=row.id,
        name=row.name,
        job=job_record(job) if job is not None else None,
        user_id=row.user_id,
        interval=IntervalType(row.interval),
        start_time=row.start_time,
        crontab=row.crontab,
        time_zone=row.time_zone,
        data=row.data,
        commit=row.commit,
        approval_required=row.approval_required,
        approval_state=ApprovalState(row.approval_state),
        decided_by_id=row.decided_by_id,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        reason=row.reason,
        enabled=row.enabled,
        paused=row.paused,
        end_reason=EndReason(row.end_reason) if row.end_reason is not None else None,
        ended_at=row.ended_at,
        ended_by_id=row.ended_by_id,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        total_run_count=row.total_run_count,
        created_at=row.created_at,
        min_approvers=row.min_approvers,
        approvals=tuple(Vote(a.user_id, a.approved_at, a.comment, a.job_version)
                        for a in sorted(approvals, key=lambda a: (a.approved_at, a.id))),
        expires_at=row.expires_at,
        job_version=row.job_version,
        approved_job_version=row.approved_job_version,
        approval_asked_at=row.approval_asked_at,
    )


def scheduled_job_values(new: NewScheduledJob, *, scheduled_job_id: str) -> dict[str, Any]:
    """The column values of a new scheduled job: active, not paused, never run."""
    schedule = new.schedule
    return {
        "id": scheduled_job_id,
        "name": new.name,
        "job_id": new.job_id,
        "user_id": new.user_id,
        "interval": schedule.interval.value,
        "start_time": schedule.start_time,
        "crontab": schedule.crontab,
        "time_zone": schedule.time_zone,
        "data": new.data,
        "commit": new.commit,
        "approval_required": new.approval_required,
        "approval_state": new.approval_state.value,
        "enabled": True,
        "paused": False,
        "next_run_at": new.next_run_at,
        "total_run_count": 0,
        "misfire_policy": new.misfire_policy.value,
        "job_version": new.job_version,
        "reason": new.reason,
        "created_at": new.created_at,
        "updated_at": new.created_at,
        "min_approvers": new.approval_times.min_approvers,
        "expires_at": new.approval_times.expires_at,
        "remind_at": new.approval_times.remind_at,
        "escalate_at": new.approval_times.escalate_at,
        "approval_due_at": new.approval_times.due_at,
    }


def log_record(row: JobLogEntryRow) -> LogRecord:
    return LogRecord(logged_at=row.logged_at, level=row.level, message=row.message, obj=row.obj)


def job_result_record(
    row: JobResultRow | Returned, job: JobRow | None, log: Iterable[JobLogEntryRow] = (), log_count: int | None = None
) -> JobResultRecord:
    """A job result as read; ``log_count`` is the number of log lines when ``log`` was not loaded."""
    lines = tuple(log_record(entry) for entry in log)
    return JobResultRecord(
        id=row.id,
        job=job_record(job) if job is not None else None,
        name=row.name,
        user_id=row.user_id,
        approved_by_id=row.approved_by_id,
        status=JobResultStatus(row.status),
        dry_run=row.dry_run,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        scheduled_job_id=row.scheduled_job_id,
        scheduled_for=row.scheduled_for,
        error=row.error,
        output=row.output,
        log=lines,
        log_count=len(lines) if log_count is None else log_count,
        data=row.data,
    )


def job_result_values(new: NewJobResult, *, job_result_id: str) -> dict[str, Any]:
    """The column values of a new job result."""
    return {
        "id": job_result_id,
        "job_id": new.job_id,
        "scheduled_job_id": new.scheduled_job_id,
        "scheduled_for": new.scheduled_for,
        "name": new.name,
        "user_id": new.user_id,
        "approved_by_id": new.approved_by_id,
        "status": new.status.value,
        "dry_run": new.dry_run,
        "data": new.data,
        "created_at": new.created_at,
        "completed_at": new.completed_at,
        "runner_id": new.runner_id,
        "lease_expires_at": new.lease_expires_at,
        "error": new.error,
        "job_version": new.job_version,
    }


def outbox_entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        created_at=row.created_at,
        channel=row.channel,
        kind=OutboxKind(row.kind),
        payload=dict(row.payload or {}),
        ref_type=ObjectType(row.ref_type) if row.ref_type is not None else None,
        ref_id=row.ref_id,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        message_channel=row.message_channel,
        message_ts=row.message_ts,
        error=row.error,
    )


def audit_record(row: AuditEventRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        created_at=row.created_at,
        actor_id=row.actor_id,
        action=AuditAction(row.action),
        object_type=ObjectType(row.object_type),
        object_id=row.object_id,
        detail=dict(row.detail or {}),
    )
