"""What the use cases depend on, in one small explicit object, and the helpers they share.

``ServiceDeps`` is built once by the composition root (``bot/app.py``) and handed to each group of use cases. The
helpers here turn records into the facts the domain rules take and look up what a use case acts on. Must not import
Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain import requests
from bot.domain.approval_rules import DEFAULT_RULE
from bot.domain.approvals import RequestFacts, is_escalation_approver
from bot.domain.errors import FieldErrors, NotFoundError
from bot.domain.permissions import Actor, Perm, Policy
from bot.domain.records import JobRecord, ScheduledJobRecord
from bot.domain.requests import JobFacts
from bot.loops import Wakeups
from bot.registry import JobCatalog
from bot.transient import SensitiveHandover
from storage.db import Database
from storage.repositories import Repositories

MAX_PAGE = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


class PolicyHolder:
    """The permissions policy in force; replaced whole when the permissions file changes (a reference swap, so each
    use case sees one policy or the next, never a mix).

    Args:
        policy: the policy in force at start.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @property
    def current(self) -> Policy:
        return self._policy

    def replace(self, policy: Policy) -> None:
        """Put ``policy`` in force from the next use on."""
        self._policy = policy


@dataclass(frozen=True, kw_only=True)
class ServiceDeps:
    """The parts the use cases work with.

    Attributes:
        db: the database.
        policies: the permissions policy in force (``policy``), replaced when the permissions file changes.
        catalog: the job classes available to this process.
        clock: where ``now`` comes from when a call does not pass it.
        time_zone: the zone of a schedule whose requester's zone is unknown (``JOBGATE_TIME_ZONE``).
        approval_channel: where approval requests go (``JOBGATE_APPROVAL_CHANNEL``); None sends them to approvers.
        handover: where the data of sensitive runs waits, in memory only, for this process's executor.
        wakeups: called after a commit that may make work due sooner.
        max_pending_per_user: how many requests waiting for approval one person may have
            (``JOBGATE_MAX_PENDING_PER_USER``).
    """

    db: Database
    policies: PolicyHolder
    catalog: JobCatalog
    clock: Callable[[], datetime] = utcnow
    time_zone: str = "UTC"
    approval_channel: str | None = None
    handover: SensitiveHandover = field(default_factory=SensitiveHandover)
    wakeups: Wakeups = field(default_factory=Wakeups)
    max_pending_per_user: int = 20

    @property
    def policy(self) -> Policy:
        """The permissions policy in force now."""
        return self.policies.current


def job_facts(deps: ServiceDeps, job: JobRecord) -> JobFacts:
    """What the run-request rules need to know about a job, with whether this process has its code."""
    return job.facts(code_present=deps.catalog.get(job.slug) is not None)


def request_facts(deps: ServiceDeps, record: ScheduledJobRecord) -> RequestFacts:
    """What the approval rules need to know about a scheduled job."""
    job = record.job
    reason = requests.not_runnable_reason(job_facts(deps, job) if job else None)
    rule = deps.policy.approval_rule(job.ref) if job else DEFAULT_RULE
    return record.facts(not_runnable_reason=reason, rule=rule)


def get_scheduled_job(repos: Repositories, scheduled_job_id: str) -> ScheduledJobRecord:
    """The scheduled job, as the database has it now.

    Raises:
        NotFoundError: it does not exist.
    """
    record = repos.scheduled_jobs.get(scheduled_job_id)
    if record is None:
        raise NotFoundError("Scheduled job not found.")
    return record


def get_visible_scheduled_job(
    deps: ServiceDeps, repos: Repositories, actor: Actor, scheduled_job_id: str
) -> ScheduledJobRecord:
    """The scheduled job, if the actor may see it (also when it escalated to one of their groups).

    Raises:
        NotFoundError: it does not exist, or the actor may not see it.
    """
    record = get_scheduled_job(repos, scheduled_job_id)
    if is_escalation_approver(request_facts(deps, record), actor, deps.clock()):
        return record  # the request escalated to a group of theirs: they are asked to decide on it
    requests.check_view(record.job.ref if record.job else None, actor=actor, policy=deps.policy,
                        perm=Perm.VIEW_SCHEDULEDJOB, user_id=record.user_id)
    return record


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    """The page asked for, with ``limit`` capped at ``MAX_PAGE``.

    Raises:
        FieldErrors: a limit below 1 or a negative offset.
    """
    if limit < 1 or offset < 0:
        raise FieldErrors({"limit": ["Ensure limit is at least 1 and offset at least 0."]})
    return min(limit, MAX_PAGE), offset
