"""Permissions: who may do what (the policy of ``JOBGATE_POLICY_FILE``).

Owns the permission names (Nautobot's, e.g. ``extras.approve_job``), the acting user as the domain sees it
(:class:`Actor`), the policy (:class:`Policy`: parsed from the file's text by ``bot.domain.policy_file``; the file
itself is read by the edge, ``bot.app.load_policy``), and the checks built on it (:meth:`Policy.has_perm`,
:meth:`Policy.is_admin`, :meth:`Policy.approver_targets`, :func:`group_approvers`).

The file format is described in CONTRACT.md ("Permissions file"). In short: ``admins`` hold every permission; ``groups``
name sets of Slack user IDs and Slack user-group handles; each entry of ``permissions`` grants some ``actions`` on some
``object_types`` to some ``groups`` and/or ``users``, optionally only for the jobs whose slug or name matches one of its
``jobs`` glob patterns. That ``jobs`` constraint applies to every object type: for scheduled jobs and job results
it is the job they run that must match.

Pure: stdlib only. Must not import Slack, SQLAlchemy, storage or handlers. Membership of Slack user groups
is resolved by the edge and passed in on the :class:`Actor`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.approval_rules import ApprovalRule, rule_for

__all__ = [
    "ACTIONS",
    "OBJECT_TYPES",
    "Actor",
    "JobRef",
    "Perm",
    "Policy",
    "PolicyEntry",
    "PolicyError",
    "group_approvers",
    "is_usergroup_id",
]


class Perm(StrEnum):
    """A permission, named as in Nautobot (``<app>.<action>_<model>``).

    RUN_JOB: ``extras.run_job``, run a job (or dry-run a scheduled job's job).
    VIEW_JOB: ``extras.view_job``, see a job.
    CHANGE_JOB: ``extras.change_job``, change a job's settings.
    APPROVE_JOB: ``extras.approve_job``, approve or deny requests to run a job.
    VIEW_SCHEDULEDJOB: ``extras.view_scheduledjob``, see scheduled jobs (and dry-run pending ones, with ``run_job``).
    CHANGE_SCHEDULEDJOB: ``extras.change_scheduledjob``, change (approve, pause, resume) scheduled jobs.
    DELETE_SCHEDULEDJOB: ``extras.delete_scheduledjob``, delete (deny, cancel) scheduled jobs.
    VIEW_JOBRESULT: ``extras.view_jobresult``, see job results and their logs.
    """

    RUN_JOB = "extras.run_job"
    VIEW_JOB = "extras.view_job"
    CHANGE_JOB = "extras.change_job"
    APPROVE_JOB = "extras.approve_job"
    VIEW_SCHEDULEDJOB = "extras.view_scheduledjob"
    CHANGE_SCHEDULEDJOB = "extras.change_scheduledjob"
    DELETE_SCHEDULEDJOB = "extras.delete_scheduledjob"
    VIEW_JOBRESULT = "extras.view_jobresult"

    @property
    def action(self) -> str:
        """The action part, e.g. ``approve`` for ``extras.approve_job``."""
        return self.value.split(".", 1)[1].split("_", 1)[0]

    @property
    def object_type(self) -> str:
        """The object type, e.g. ``extras.job`` for ``extras.approve_job``."""
        app, codename = self.value.split(".", 1)
        return f"{app}.{codename.split('_', 1)[1]}"


ACTIONS: tuple[str, ...] = ("approve", "change", "delete", "run", "view")
"""The actions a permissions-file entry may grant. Nautobot's ``add`` is refused: scheduling needs ``run`` only."""

OBJECT_TYPES: tuple[str, ...] = ("extras.job", "extras.scheduledjob", "extras.jobresult")
"""The object types a permissions-file entry may name."""

@dataclass(frozen=True)
class Actor:
    """The person acting, as the domain sees them.

    Attributes:
        user_id: the Slack user ID (``U…`` or ``W…``).
        usergroups: the Slack user groups the user belongs to: their handles, WITHOUT the leading ``@``, and their
            IDs (``S…``, which a pinned entry of the permissions file matches). The edge resolves membership and passes
            them in; a leading ``@`` given by mistake is removed.
    """

    user_id: str
    usergroups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        groups = self.usergroups
        if not isinstance(groups, frozenset) or any(g.startswith("@") for g in groups):
            object.__setattr__(self, "usergroups", frozenset(g.removeprefix("@") for g in groups))


OPERATOR_ID = "jobgate-operator"
"""Who acts through the ``jobgate`` command line (``jobgate schedules cancel``...): an operator with shell access,
who holds every permission there. Messages name them "an operator", not a Slack user."""


@dataclass(frozen=True)
class JobRef:
    """Identifies a job for matching ``jobs`` constraints: its slug and its name."""

    slug: str
    name: str


class PolicyError(ValueError):
    """The permissions file is malformed (or, raised by the edge that reads it, missing or unreadable).

    The message is one line: the file, the entry that is wrong, what is wrong and what is expected.
    """


@dataclass(frozen=True, kw_only=True)
class PolicyEntry:
    """One validated entry of ``permissions``, with its groups resolved to members.

    Attributes:
        name: the entry's name, for messages and audits.
        actions: the actions granted (subset of :data:`ACTIONS`).
        object_types: the object types they are granted on (subset of :data:`OBJECT_TYPES`).
        user_ids: Slack user IDs granted, listed directly or through a group.
        usergroups: Slack user groups whose members are granted, through a group: handles (without ``@``), or IDs
            (``S…``) for groups pinned to their ID (``"@net-approvers:S0123ABCD"``), granted whatever their handle.
        groups: the group names the entry listed, as written.
        jobs: glob patterns (``fnmatch``, case-sensitive) matched against a job's slug or name; empty means every job.
            The constraint applies to every object type: for scheduled jobs and job results it is the job they run
            that must match.
    """

    name: str
    actions: frozenset[str]
    object_types: frozenset[str]
    user_ids: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()

    @property
    def perms(self) -> frozenset[Perm]:
        """The jobgate permissions this entry grants (combinations with no jobgate permission are ignored)."""
        return frozenset(p for p in Perm if p.action in self.actions and p.object_type in self.object_types)


@dataclass(frozen=True, slots=True)
class _Grant:
    """Precomputed form of an entry, for one permission: who, and for which jobs."""

    user_ids: frozenset[str]
    usergroups: frozenset[str]
    patterns: tuple[re.Pattern[str], ...] = field(default=())

    def covers(self, actor: Actor) -> bool:
        return actor.user_id in self.user_ids or not self.usergroups.isdisjoint(actor.usergroups)

    def allows(self, job: JobRef | None) -> bool:
        if job is None or not self.patterns:
            return True
        return any(p.match(job.slug) or p.match(job.name) for p in self.patterns)


class Policy:
    """Who may do what: admins plus permission entries. Immutable; ``bot.domain.policy_file.parse_policy`` builds it.

    Lookups are precomputed per permission, so :meth:`has_perm` costs a few set lookups (it runs on every Slack click).
    """

    __slots__ = ("_admins", "_entries", "_grants", "_rules")

    _admins: frozenset[str]
    _entries: tuple[PolicyEntry, ...]
    _grants: Mapping[Perm, tuple[_Grant, ...]]
    _rules: tuple[ApprovalRule, ...]

    def __init__(
        self,
        *,
        admins: Iterable[str] = (),
        entries: Iterable[PolicyEntry] = (),
        approval_rules: Iterable[ApprovalRule] = (),
    ) -> None:
        """Build a policy from validated parts (``parse_policy`` validates; this does not).

        Args:
            admins: Slack user IDs that hold every permission.
            entries: the permission entries.
            approval_rules: the ``approval_rules:`` entries, in file order.
        """
        entry_tuple = tuple(entries)
        grants: dict[Perm, list[_Grant]] = {}
        for entry in entry_tuple:
            patterns = tuple(re.compile(fnmatch.translate(p)) for p in entry.jobs)
            grant = _Grant(entry.user_ids, entry.usergroups, patterns)
            for perm in entry.perms:
                grants.setdefault(perm, []).append(grant)
        object.__setattr__(self, "_admins", frozenset(admins))
        object.__setattr__(self, "_entries", entry_tuple)
        object.__setattr__(self, "_grants", {perm: tuple(gs) for perm, gs in grants.items()})
        object.__setattr__(self, "_rules", tuple(approval_rules))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Policy is immutable")

    def __repr__(self) -> str:
        return f"Policy(admins={sorted(self._admins)!r}, entries={[e.name for e in self._entries]!r})"

    @classmethod
    def empty(cls) -> Policy:
        """A policy with no admins in which nobody has any permission."""
        return cls()


    @property
    def admins(self) -> frozenset[str]:
        """Slack user IDs holding every permission."""
        return self._admins

    @property
    def entries(self) -> tuple[PolicyEntry, ...]:
        """The permission entries, in file order."""
        return self._entries

    @property
    def approval_rules(self) -> tuple[ApprovalRule, ...]:
        """The approval rules, in file order."""
        return self._rules

    def approval_rule(self, job: JobRef) -> ApprovalRule:
        """The approval rule for ``job``: the first whose ``jobs`` glob matches its slug or name, else the defaults
        (one approval, no expiry, no reminders)."""
        return rule_for(self._rules, slug=job.slug, name=job.name)

    def is_admin(self, actor: Actor) -> bool:
        """Whether the actor is an admin (holds every permission)."""
        return actor.user_id in self._admins

    def has_perm(self, actor: Actor, perm: Perm, job: JobRef | None = None) -> bool:
        """Whether the actor holds ``perm``, for ``job`` if given.

        Admins hold everything. Otherwise an entry must grant the permission's action on its object type and list the
        actor (their user ID directly or through a group, or one of their user-group handles through a group).

        Args:
            actor: who is asking.
            perm: the permission.
            job: the job concerned (for a scheduled job or job result: the job it runs). With a job, an entry with a
                ``jobs`` constraint counts only if the job's slug or name matches one of its patterns. Without one,
                the check is model-level: any granting entry counts whatever its constraint, as Nautobot's
                model-level permission check.

        Returns:
            True if the permission is held.
        """
        if actor.user_id in self._admins:
            return True
        return any(grant.covers(actor) and grant.allows(job) for grant in self._grants.get(perm, ()))

    def approver_targets(self, job: JobRef, *, requester_id: str | None) -> tuple[frozenset[str], frozenset[str]]:
        """Whom to ask to approve a request to run ``job``: who holds ``approve_job`` on it and
        ``change_scheduledjob`` on its requests, never the requester.

        Used to notify approvers. A principal counts when it holds both permissions on its own: a user ID (listed
        directly or through a group, or an admin) or a user-group handle whose membership alone grants both. A user
        who gets one permission by ID and the other only through a user group is not listed; the edge can find such
        users by expanding handles and checking :meth:`has_perm`. Nobody approves their own request, so the requester
        is left out; the edge that expands a handle into its members leaves them out with :func:`group_approvers`.

        Args:
            job: the job to be approved.
            requester_id: Slack user ID of who asked (None if unknown): never a target.

        Returns:
            ``(user_ids, usergroups)``: handles without the leading ``@``, and IDs (``S…``) of pinned groups
            (:func:`is_usergroup_id` tells them apart).
        """
        user_ids = set(self._admins)
        handles: set[str] = set()
        for entry in self._entries:
            user_ids.update(entry.user_ids)
            handles.update(entry.usergroups)

        def can_approve(actor: Actor) -> bool:
            return self.has_perm(actor, Perm.APPROVE_JOB, job) and self.has_perm(actor, Perm.CHANGE_SCHEDULEDJOB, job)

        return (
            frozenset(group_approvers((u for u in user_ids if can_approve(Actor(u))), requester_id=requester_id)),
            frozenset(h for h in handles if can_approve(Actor("", frozenset({h})))),
        )


def is_usergroup_id(text: str) -> bool:
    """Whether a user group of the policy is a Slack user-group ID (``S…``, a pinned group) rather than a handle
    (handles are lower-case; IDs are ``S`` and capital letters and digits)."""
    return len(text) > 2 and text[0] == "S" and text.isalnum() and text.isupper()


def group_approvers(members: Iterable[str], *, requester_id: str | None) -> tuple[str, ...]:
    """The approvers among ``members`` (users who may approve a request, e.g. a user group's members): all but the
    requester, who never approves their own request. Their order is kept.

    Args:
        members: Slack user IDs.
        requester_id: Slack user ID of who asked (None if unknown).
    """
    return tuple(m for m in members if requester_id is None or m != requester_id)
