"""The outbox entries a change implies: who is told about a request and its decision, in the same transaction.

The notifier delivers them to Slack after the commit. Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.domain.audit import AuditEvent
from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.permissions import Actor, is_usergroup_id
from bot.domain.records import ObjectType, ScheduledJobRecord
from bot.services.deps import ServiceDeps
from storage.repositories import Repositories


def group_target(group: str) -> str:
    """The outbox channel of a user group of the policy: ``@handle``, or its ID (``S…``) when pinned."""
    return group if is_usergroup_id(group) else f"@{group}"


def announce_approval_request(
    deps: ServiceDeps, repos: Repositories, record: ScheduledJobRecord, *, now: datetime,
    targets: Iterable[str] | None = None,
) -> None:
    """Ask for a decision: in the approval channel (mentioning who may approve: their user groups and people, never
    the requester), else by DM to each approver (never the requester); a user group is one entry, ``@handle`` or its
    ID (``S…``) when pinned, that the notifier expands into its members.

    Args:
        targets: ask these outbox channels instead (an escalation: users by ID, groups by :func:`group_target`).
    """
    payload: dict[str, object] = {"scheduled_job_id": record.id}
    if targets is not None:
        targets = list(targets)
    elif deps.approval_channel:
        targets = [deps.approval_channel]
        if record.job is not None:  # the message in the channel mentions them, so they are notified
            users, groups = deps.policy.approver_targets(record.job.ref, requester_id=record.user_id)
            payload["approvers"] = {"users": sorted(users),
                                    "group_ids": sorted(g for g in groups if is_usergroup_id(g)),
                                    "handles": sorted(g for g in groups if not is_usergroup_id(g))}
    else:
        assert record.job is not None
        users, groups = deps.policy.approver_targets(record.job.ref, requester_id=record.user_id)
        targets = sorted(users) + sorted(group_target(g) for g in groups)
    for target in targets:
        repos.outbox.add(OutboxMessage(channel=target, kind=OutboxKind.APPROVAL_REQUEST, payload=payload,
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)


def announce_approval_lapsed(
    deps: ServiceDeps, repos: Repositories, record: ScheduledJobRecord, *, now: datetime
) -> None:
    """The approval of a request lapsed (its job's code changed): its earlier approval messages are updated in place
    (pending again, saying what changed), the approvers are asked again in a new message, and the requester is told."""
    refresh_approval_messages(repos, record.id, actor_id=None, now=now)
    announce_approval_request(deps, repos, record, now=now)
    if record.user_id:
        repos.outbox.add(OutboxMessage(channel=record.user_id, kind=OutboxKind.APPROVAL_LAPSED,
                                       payload={"scheduled_job_id": record.id},
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)


def announce_decision(
    repos: Repositories, record: ScheduledJobRecord, *, kind: OutboxKind, actor: Actor, now: datetime,
    audit: AuditEvent | None = None,
) -> None:
    """Update every approval message of the request, and tell the requester (unless they acted themselves); with
    ``audit``, record that event too (in the same statement where the database allows)."""
    repos.outbox.add_updates(ObjectType.SCHEDULED_JOB, record.id, of_kind=OutboxKind.APPROVAL_REQUEST,
                             kind=OutboxKind.APPROVAL_UPDATE, payload=_update_payload(record.id, actor.user_id),
                             then=_requester_notice(record, kind=kind, actor=actor), audit=audit, now=now)


def announce_progress(repos: Repositories, record: ScheduledJobRecord, *, actor: Actor, now: datetime,
                      audit: AuditEvent | None = None) -> None:
    """Redraw every approval message of a request that got an approval but needs more (it keeps its buttons); with
    ``audit``, record that event too (in the same statement where the database allows)."""
    refresh_approval_messages(repos, record.id, actor_id=actor.user_id, now=now, audit=audit)


def refresh_approval_messages(repos: Repositories, scheduled_job_id: str, *, actor_id: str | None,
                              now: datetime, audit: AuditEvent | None = None) -> None:
    """Update every approval message of a request in place (after a decision, or a dry run that finished)."""
    repos.outbox.add_updates(ObjectType.SCHEDULED_JOB, scheduled_job_id, of_kind=OutboxKind.APPROVAL_REQUEST,
                             kind=OutboxKind.APPROVAL_UPDATE, payload=_update_payload(scheduled_job_id, actor_id),
                             then=(), audit=audit, now=now)


def _update_payload(scheduled_job_id: str, actor_id: str | None) -> dict[str, str | None]:
    return {"scheduled_job_id": scheduled_job_id, "actor_id": actor_id}


def tell_requester(repos: Repositories, record: ScheduledJobRecord, *, kind: OutboxKind, actor: Actor,
                   now: datetime) -> None:
    """Tell the requester what someone else did to their scheduled job."""
    repos.outbox.add_many(_requester_notice(record, kind=kind, actor=actor), now=now)


def _requester_notice(record: ScheduledJobRecord, *, kind: OutboxKind, actor: Actor) -> list[OutboxMessage]:
    if record.user_id and record.user_id != actor.user_id:
        return [OutboxMessage(channel=record.user_id, kind=kind,
                              payload={"scheduled_job_id": record.id, "actor_id": actor.user_id},
                              ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id)]
    return []


def announce_expiry(repos: Repositories, record: ScheduledJobRecord, *, now: datetime) -> None:
    """Redraw every approval message of a request that expired (no buttons), and tell the requester."""
    payload = {"scheduled_job_id": record.id, "actor_id": None}
    for entry in repos.outbox.list_for(ObjectType.SCHEDULED_JOB, record.id):
        if entry.kind is OutboxKind.APPROVAL_REQUEST:
            repos.outbox.add(OutboxMessage(channel=entry.channel, kind=OutboxKind.APPROVAL_UPDATE, payload=payload,
                                           ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)
    if record.user_id:
        repos.outbox.add(OutboxMessage(channel=record.user_id, kind=OutboxKind.REQUEST_EXPIRED, payload=payload,
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)


def announce_reminder(
    deps: ServiceDeps, repos: Repositories, record: ScheduledJobRecord, *, users: Iterable[str],
    groups: Iterable[str], now: datetime,
) -> None:
    """Remind the approvers who have not acted: one message in the approval channel (in the thread of the approval
    message, mentioning them), else one DM to each (a user group's members found by the notifier)."""
    users, groups = sorted(set(users)), sorted({group_target(g) for g in groups})
    if not users and not groups:
        return
    if deps.approval_channel:
        repos.outbox.add(OutboxMessage(channel=deps.approval_channel, kind=OutboxKind.APPROVAL_REMINDER,
                                       payload={"scheduled_job_id": record.id, "users": users, "groups": groups},
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)
        return
    for target in [*users, *groups]:
        repos.outbox.add(OutboxMessage(channel=target, kind=OutboxKind.APPROVAL_REMINDER,
                                       payload={"scheduled_job_id": record.id},
                                       ref_type=ObjectType.SCHEDULED_JOB, ref_id=record.id), now=now)
