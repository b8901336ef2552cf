"""SQLAlchemy 2 typed models: the tables jobgate keeps. Schema changes go through Alembic migrations.

Only ``storage`` imports this module: rows never leave it (the repositories turn them into domain records). The
classes are named ``*Row`` so they are never mistaken for those records. Must not import Slack or handlers.
Sensitive job data is never stored: ``data`` columns stay NULL for jobs with sensitive variables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.dispatch import MisfirePolicy
from bot.domain.outbox import OutboxStatus
from storage.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)
USER_ID = String(32)
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class JobRow(Base):
    """A job's database record: discovered code plus the operator's switches (enabled)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    module_name: Mapped[str] = mapped_column(String(255))
    class_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    has_sensitive_variables: Mapped[bool] = mapped_column(Boolean, default=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    soft_time_limit: Mapped[float | None] = mapped_column(Float)
    time_limit: Mapped[float | None] = mapped_column(Float)
    variables: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The code version: sha256 (hex) of the job module's source, as last discovered.
    version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The job module's module-level ``name`` (Nautobot's grouping); "" when it sets none.
    grouping: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledJobRow(Base):
    """A request to run a job later or repeatedly, with its schedule and approval state."""

    __tablename__ = "scheduled_jobs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[str | None] = mapped_column(USER_ID, index=True)
    interval: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    crontab: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    commit: Mapped[bool] = mapped_column(Boolean, default=True)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_state: Mapped[str] = mapped_column(String(16))
    decided_by_id: Mapped[str | None] = mapped_column(USER_ID)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Why the requester asked for it (optional), shown to the approvers.
    reason: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[str | None] = mapped_column(USER_ID)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_run_count: Mapped[int] = mapped_column(Integer, default=0)
    misfire_policy: Mapped[str] = mapped_column(String(16), default=MisfirePolicy.RUN_ONCE.value)
    # The job's code version the request awaits (or awaited) approval for, and the one it was approved for.
    job_version: Mapped[str | None] = mapped_column(String(64))
    approved_job_version: Mapped[str | None] = mapped_column(String(64))
    # When approvers were last asked anew (its job came to require approval, or its approval lapsed); NULL: when it
    # was created. Its expiry, reminders and escalation count from then.
    approval_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Approval rules: how many distinct approvals it needs, when it expires if still pending, when its next reminder
    # and its escalation are due, and the earliest of those three while pending (NULL otherwise): the approval loop's
    # due time.
    min_approvers: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The dispatcher's only query: active rows by due time. Partial, so it grows with active schedules only.
        # SQLite uses a partial index only when the query's terms match its condition word for word, and SQLAlchemy
        # writes boolean filters as "enabled = 1", so the SQLite condition is spelt that way.
        Index(
            "ix_scheduled_jobs_due",
            "next_run_at",
            sqlite_where=text("enabled = 1 AND paused = 0 AND next_run_at IS NOT NULL"),
            postgresql_where=text("enabled AND NOT paused AND next_run_at IS NOT NULL"),
        ),
        Index("ix_scheduled_jobs_queue", "approval_state", "start_time"),
        # The approval loop's only query: pending requests by the due time of their expiry, reminder or escalation.
        Index(
            "ix_scheduled_jobs_approval_due",
            "approval_due_at",
            sqlite_where=text("approval_due_at IS NOT NULL"),
            postgresql_where=text("approval_due_at IS NOT NULL"),
        ),
    )


class ApprovalRow(Base):
    """One approval of a request: who, when, their comment, and the job's code version they approved (if known).
    At most one per approver and request."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    scheduled_job_id: Mapped[str] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(USER_ID)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    job_version: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("scheduled_job_id", "user_id", name="uq_approvals_approver"),)


class JobResultRow(Base):
    """One execution of a job (or a due time that was not run: ``missed``)."""

    __tablename__ = "job_results"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    scheduled_job_id: Mapped[str | None] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="SET NULL"))
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(USER_ID)
    approved_by_id: Mapped[str | None] = mapped_column(USER_ID)
    status: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The runner process holding the claim (``host:pid:nonce``); set while pending for a run pinned to one process.
    runner_id: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # What run() returned, as text.
    output: Mapped[str | None] = mapped_column(Text)
    # When a serving process published it to the Celery broker (executor ``celery``); None until then.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The job's code version the run was approved for; a worker whose code differs refuses to run it.
    job_version: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # Exactly one job result per due time of a scheduled job, whatever the number of dispatchers.
        UniqueConstraint("scheduled_job_id", "scheduled_for", name="uq_job_results_slot"),
        Index("ix_job_results_status", "status", "created_at"),
        Index("ix_job_results_created", "created_at"),
        # What the Celery publisher looks for: pending, not pinned to one process, not published yet.
        Index(
            "ix_job_results_to_publish",
            "created_at",
            sqlite_where=text("status = 'pending' AND published_at IS NULL AND runner_id IS NULL"),
            postgresql_where=text("status = 'pending' AND published_at IS NULL AND runner_id IS NULL"),
        ),
    )


class JobLogEntryRow(Base):
    """One ``log_*`` call of a job run, or the traceback of an exception it raised."""

    __tablename__ = "job_log_entries"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    job_result_id: Mapped[str] = mapped_column(ForeignKey("job_results.id", ondelete="CASCADE"), index=True)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    obj: Mapped[str | None] = mapped_column(Text)


class ApiTokenRow(Base):
    """A REST API token. Only its SHA-256 hash is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(USER_ID, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RunThreadRow(Base):
    """The direct message under which the runs of one scheduled job are told to one recipient: its first run's
    message. Later runs that completed are replies in its thread; the first run and every failure are new messages."""

    __tablename__ = "run_threads"

    scheduled_job_id: Mapped[str] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"),
                                                  primary_key=True)
    # The outbox channel the runs are told to (a user ID for a direct message).
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_channel: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """A notification written in the same transaction as the change it reports; delivered to Slack afterwards.

    Delivery keeps the order of ``id`` within one ``channel``. ``message_channel`` and ``message_ts`` record the
    Slack message it created (a DM's channel differs from the user ID it was sent to), so a later entry can update
    that message in place or reply in its thread.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "status", "channel", "id"),
        Index("ix_outbox_ref", "ref_type", "ref_id"),
    )


class AuditEventRow(Base):
    """Who did what to which object, and when: one row per state change."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(USER_ID)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)
