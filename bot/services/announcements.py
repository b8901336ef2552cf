"""The outbox entries a change implies: who is told about a request and its decision, in the same transaction.

The notifier delivers them to Slack after the commit. Must not import Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.permissions import Actor, is_usergroup_id
from bot.domain.records import ObjectType, ScheduledJobRecord
from bot.services.deps import ServiceDeps
from storage.repositories import Repositories


def announce_approval_request(
    deps: ServiceDeps, repos: Repositories, record: ScheduledJobRecord, *, now: datetime
) -> None:
    """Ask for a decision: in the approval channel, else by DM to each approver (never the requester); a user group
    is one entry, ``@handle`` or its ID (``S…``) when pinned, that the notifier expands into its members."""
    payload = {"scheduled_job_id": record.id}
    if deps.approval_channel:
        targets = [deps.approval_channel]
    else:
        assert record.job is not None
        users, groups = deps.policy.approver_targets(record.job.ref, requester_id=record.user_id)
        targets = sorted(users) + sorted(g if is_usergroup_id(g) else f"@{g}" for g in groups)
    for target in targets:
        repos.outbox.add(OutboxMessage(channel=target, kind=OutboxKind.APPROVAL_REQUEST, payload=payload,
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)


def announce_decision(
    repos: Repositories, record: ScheduledJobRecord, *, kind: OutboxKind, actor: Actor, now: datetime
) -> None:
    """Update every approval message of the request, and tell the requester (unless they acted themselves)."""
    announce_progress(repos, record, actor=actor, now=now)
    tell_requester(repos, record, kind=kind, actor=actor, now=now)


def announce_progress(repos: Repositories, record: ScheduledJobRecord, *, actor: Actor, now: datetime) -> None:
    """Redraw every approval message of a request that got an approval but needs more (it keeps its buttons)."""
    payload = {"scheduled_job_id": record.id, "actor_id": actor.user_id}
    for entry in repos.outbox.list_for(ObjectType.SCHEDULED_JOB, record.id):
        if entry.kind is OutboxKind.APPROVAL_REQUEST:
            repos.outbox.add(OutboxMessage(channel=entry.channel, kind=OutboxKind.APPROVAL_UPDATE, payload=payload,
                                           ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)


def tell_requester(repos: Repositories, record: ScheduledJobRecord, *, kind: OutboxKind, actor: Actor,
                   now: datetime) -> None:
    """Tell the requester what someone else did to their scheduled job."""
    if record.user_id and record.user_id != actor.user_id:
        repos.outbox.add(OutboxMessage(channel=record.user_id, kind=kind,
                                       payload={"scheduled_job_id": record.id, "actor_id": actor.user_id},
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)
