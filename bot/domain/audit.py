"""The audit trail: who did what to which object, and when; one event per state change.

Owns the audit actions, what services write (``AuditEvent``) and what is read back (``AuditRecord``).
Pure: must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.domain.records import ObjectType


class AuditAction(StrEnum):
    """What was done: ``<object type>.<verb>``.

    JOB_ENABLE: an operator enabled a job.
    JOB_DISABLE: an operator disabled a job.
    JOB_RUN: someone ran a job now (a job result, no scheduled job).
    SCHEDULED_JOB_REQUEST: someone asked to run a job later, on a schedule, or behind approval.
    SCHEDULED_JOB_APPROVE: an approver approved a request.
    SCHEDULED_JOB_DENY: an approver denied a request.
    SCHEDULED_JOB_WITHDRAW: the requester withdrew their own request.
    SCHEDULED_JOB_DRY_RUN: someone dry-ran a pending request.
    SCHEDULED_JOB_CANCEL: a scheduled job was cancelled.
    SCHEDULED_JOB_PAUSE: a scheduled job was paused.
    SCHEDULED_JOB_RESUME: a paused scheduled job was resumed.
    SCHEDULED_JOB_EXPIRE: a request nobody decided on in time expired (its approval rule's ``expire_after``).
    SCHEDULED_JOB_REMIND: the approvers who had not acted on a pending request were reminded.
    SCHEDULED_JOB_ESCALATE: a pending request was escalated to its approval rule's ``escalate_to`` groups.
    SCHEDULED_JOB_REQUIRE_APPROVAL: at a due time, a scheduled job created while its job needed no approval went
        back to awaiting approval (its job requires approval now).
    SCHEDULED_JOB_APPROVAL_LAPSE: an approved scheduled job did not run because its job's code changed since it was
        approved; it awaits approval again.
    API_TOKEN_CREATE: an operator created a REST API token.
    API_TOKEN_REVOKE: an operator revoked a REST API token.
    """

    JOB_ENABLE = "job.enable"
    JOB_DISABLE = "job.disable"
    JOB_RUN = "job.run"
    SCHEDULED_JOB_REQUEST = "scheduled_job.request"
    SCHEDULED_JOB_APPROVE = "scheduled_job.approve"
    SCHEDULED_JOB_DENY = "scheduled_job.deny"
    SCHEDULED_JOB_WITHDRAW = "scheduled_job.withdraw"
    SCHEDULED_JOB_DRY_RUN = "scheduled_job.dry_run"
    SCHEDULED_JOB_CANCEL = "scheduled_job.cancel"
    SCHEDULED_JOB_PAUSE = "scheduled_job.pause"
    SCHEDULED_JOB_RESUME = "scheduled_job.resume"
    SCHEDULED_JOB_REQUIRE_APPROVAL = "scheduled_job.require_approval"
    SCHEDULED_JOB_EXPIRE = "scheduled_job.expire"
    SCHEDULED_JOB_REMIND = "scheduled_job.remind"
    SCHEDULED_JOB_ESCALATE = "scheduled_job.escalate"
    SCHEDULED_JOB_APPROVAL_LAPSE = "scheduled_job.approval_lapse"
    API_TOKEN_CREATE = "api_token.create"
    API_TOKEN_REVOKE = "api_token.revoke"


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """A state change to record.

    Attributes:
        actor_id: who made it (a Slack user ID), or None for an operator at the command line.
        object_id: the ID of the object changed.
        detail: what else is worth keeping (JSON): the job's slug, a denial's reason...
    """

    actor_id: str | None
    action: AuditAction
    object_type: ObjectType
    object_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """A recorded state change."""

    id: int
    created_at: datetime
    actor_id: str | None
    action: AuditAction
    object_type: ObjectType
    object_id: str | None
    detail: dict[str, Any]
