"""Permissions: who may do what, parsed from the permissions file's text (``JOBGATE_POLICY_FILE``; the edge reads it).

Owns the permission names (Nautobot's, e.g. ``extras.approve_job``), the acting user as the domain sees it
(:class:`Actor`), the rules for parsing and validating the permissions file (:meth:`Policy.from_yaml`; the file itself
is read by the edge, ``bot.app.load_policy``), and the checks built on it (:meth:`Policy.has_perm`,
:meth:`Policy.is_admin`, :meth:`Policy.approver_targets`, :func:`group_approvers`).

The file format is described in CONTRACT.md ("Permissions file"). In short: ``admins`` hold every permission; ``groups``
name sets of Slack user IDs and Slack user-group handles; each entry of ``permissions`` grants some ``actions`` on some
``object_types`` to some ``groups`` and/or ``users``, optionally only for the jobs whose slug or name matches one of its
``jobs`` glob patterns. That ``jobs`` constraint applies to every object type: for scheduled jobs and job results
it is the job they run that must match.

Pure: stdlib and PyYAML only. Must not import Slack, SQLAlchemy, storage or handlers. Membership of Slack user groups
is resolved by the edge and passed in on the :class:`Actor`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes

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
]


class Perm(StrEnum):
    """A permission, named as in Nautobot (``<app>.<action>_<model>``).

    RUN_JOB: ``extras.run_job``, run a job (or dry-run a scheduled job's job).
    VIEW_JOB: ``extras.view_job``, see a job.
    CHANGE_JOB: ``extras.change_job``, change a job's settings.
    APPROVE_JOB: ``extras.approve_job``, approve or deny requests to run a job.
    ADD_SCHEDULEDJOB: ``extras.add_scheduledjob``, create a scheduled job.
    VIEW_SCHEDULEDJOB: ``extras.view_scheduledjob``, see scheduled jobs (and dry-run pending ones, with ``run_job``).
    CHANGE_SCHEDULEDJOB: ``extras.change_scheduledjob``, change (approve, pause, resume) scheduled jobs.
    DELETE_SCHEDULEDJOB: ``extras.delete_scheduledjob``, delete (deny, cancel) scheduled jobs.
    VIEW_JOBRESULT: ``extras.view_jobresult``, see job results and their logs.
    """

    RUN_JOB = "extras.run_job"
    VIEW_JOB = "extras.view_job"
    CHANGE_JOB = "extras.change_job"
    APPROVE_JOB = "extras.approve_job"
    ADD_SCHEDULEDJOB = "extras.add_scheduledjob"
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


ACTIONS: tuple[str, ...] = ("add", "approve", "change", "delete", "run", "view")
"""The actions a permissions-file entry may grant."""

OBJECT_TYPES: tuple[str, ...] = ("extras.job", "extras.scheduledjob", "extras.jobresult")
"""The object types a permissions-file entry may name."""

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
_TOP_LEVEL_KEYS = ("admins", "groups", "permissions")
_ENTRY_KEYS = ("name", "actions", "object_types", "groups", "users", "jobs")
_USER_ID_EXPECTED = "expected a Slack user ID such as U0123ABCD (U or W, then capital letters and digits)"
_MEMBER_EXPECTED = (
    "expected a Slack user ID such as U0123ABCD or a user-group handle such as @net-approvers"
    " (lower-case letters, digits, '.', '_' or '-')"
)


@dataclass(frozen=True)
class Actor:
    """The person acting, as the domain sees them.

    Attributes:
        user_id: the Slack user ID (``U…`` or ``W…``).
        usergroups: handles of the Slack user groups the user belongs to, WITHOUT the leading ``@``. The edge
            resolves membership and passes them in; a leading ``@`` given by mistake is removed.
    """

    user_id: str
    usergroups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        groups = self.usergroups
        if not isinstance(groups, frozenset) or any(g.startswith("@") for g in groups):
            object.__setattr__(self, "usergroups", frozenset(g.removeprefix("@") for g in groups))


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
        usergroups: Slack user-group handles (without ``@``) whose members are granted, through a group.
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
    """Who may do what: admins plus permission entries. Immutable; build it with :meth:`from_yaml`.

    Lookups are precomputed per permission, so :meth:`has_perm` costs a few set lookups (it runs on every Slack click).
    """

    __slots__ = ("_admins", "_entries", "_grants")

    _admins: frozenset[str]
    _entries: tuple[PolicyEntry, ...]
    _grants: Mapping[Perm, tuple[_Grant, ...]]

    def __init__(self, *, admins: Iterable[str] = (), entries: Iterable[PolicyEntry] = ()) -> None:
        """Build a policy from validated parts (:meth:`from_yaml` validates; this does not).

        Args:
            admins: Slack user IDs that hold every permission.
            entries: the permission entries.
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

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Policy is immutable")

    def __repr__(self) -> str:
        return f"Policy(admins={sorted(self._admins)!r}, entries={[e.name for e in self._entries]!r})"

    @classmethod
    def empty(cls) -> Policy:
        """A policy with no admins in which nobody has any permission."""
        return cls()

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "policy file") -> Policy:
        """Parse and validate the permissions file's text.

        Args:
            text: the YAML text. An empty document or ``{}`` is an empty policy.
            source: how to name the file in error messages (usually its path).

        Returns:
            The policy.

        Raises:
            PolicyError: the YAML is invalid (the message gives the line), or an entry is malformed (the message
                names the entry and what is expected).
        """
        try:
            data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"line {mark.line + 1}" if mark is not None else "somewhere"
            problem = exc.problem or exc.context or "cannot be parsed"
            raise PolicyError(f"{source}: {where}: invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise PolicyError(f"{source}: invalid YAML: {exc}") from None
        return _build_policy(data, source=source)

    @property
    def admins(self) -> frozenset[str]:
        """Slack user IDs holding every permission."""
        return self._admins

    @property
    def entries(self) -> tuple[PolicyEntry, ...]:
        """The permission entries, in file order."""
        return self._entries

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
            ``(user_ids, usergroup_handles)``; handles are without the leading ``@``.
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


def group_approvers(members: Iterable[str], *, requester_id: str | None) -> tuple[str, ...]:
    """The approvers among ``members`` (users who may approve a request, e.g. a user group's members): all but the
    requester, who never approves their own request. Their order is kept.

    Args:
        members: Slack user IDs.
        requester_id: Slack user ID of who asked (None if unknown).
    """
    return tuple(m for m in members if requester_id is None or m != requester_id)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys (a second ``netops:`` would silently replace the first)."""

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _build_policy(data: object, *, source: str) -> Policy:
    """Validate the parsed permissions file and build the policy. All the loading rules live here.

    Args:
        data: what the YAML parser returned.
        source: how to name the file in messages.

    Raises:
        PolicyError: naming the entry that is wrong and what is expected.
    """

    def fail(where: str, problem: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {problem}")

    def describe(value: object) -> str:
        kinds = {
            str: "a string",
            bool: "a boolean",
            int: "a number",
            float: "a number",
            list: "a list",
            dict: "a mapping",
        }
        if value is None:
            return "nothing"
        kind = kinds.get(type(value), type(value).__name__)
        return f"{kind} {value!r}" if isinstance(value, str | int | float) else kind

    def shown(value: object) -> str:
        return repr(value) if isinstance(value, str) else describe(value)

    def string_list(value: object, where: str, what: str, *, required: bool) -> list[str]:
        example = {"actions": "[run, view]", "object_types": "[extras.job]"}.get(what, "[...]")
        if not isinstance(value, list):
            raise fail(where, f"'{what}' must be a list, e.g. {what}: {example}; got {describe(value)}")
        if required and not value:
            raise fail(where, f"'{what}' must not be empty, e.g. {what}: {example}")
        for item in value:
            if not isinstance(item, str) or not item:
                raise fail(where, f"'{what}' must list non-empty strings; got {describe(item)}")
        return value

    if data is None:
        return Policy.empty()
    if not isinstance(data, dict):
        raise PolicyError(
            f"{source}: the top level must be a mapping with keys {', '.join(_TOP_LEVEL_KEYS)}; got {describe(data)}"
        )
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise fail(f"top-level key {key!r}", f"unknown key; expected one of {', '.join(_TOP_LEVEL_KEYS)}")

    # admins: a list of Slack user IDs (absent or empty: none).
    admins_value = data.get("admins")
    if admins_value is None:
        admins_value = []
    if not isinstance(admins_value, list):
        raise fail("admins", f"must be a list of Slack user IDs, e.g. admins: [U0ADMIN1]; got {describe(admins_value)}")
    for admin in admins_value:
        if not isinstance(admin, str) or not _USER_ID.match(admin):
            raise fail("admins", f"{shown(admin)} is not a Slack user ID; {_USER_ID_EXPECTED}")
    admins = frozenset(admins_value)

    # groups: name -> members (user IDs or @handles).
    groups_value = data.get("groups")
    if groups_value is None:
        groups_value = {}
    if not isinstance(groups_value, dict):
        raise fail(
            "groups", f"must be a mapping of group name to members, e.g. netops: [U0AAA]; got {describe(groups_value)}"
        )
    groups: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for group_name, members in groups_value.items():
        if not isinstance(group_name, str) or not group_name:
            raise fail("groups", f"group name {describe(group_name)} is not valid; expected a non-empty string")
        where = f"groups.{group_name}"
        if not isinstance(members, list):
            raise fail(where, f'must be a list of members, e.g. [U0AAA, "@net-approvers"]; got {describe(members)}')
        ids: set[str] = set()
        handles: set[str] = set()
        for member in members:
            if isinstance(member, str) and _USER_ID.match(member):
                ids.add(member)
            elif isinstance(member, str) and _HANDLE.match(member):
                handles.add(member[1:])
            else:
                raise fail(where, f"member {shown(member)} is not valid; {_MEMBER_EXPECTED}")
        groups[group_name] = (frozenset(ids), frozenset(handles))

    # permissions: a list of entries.
    permissions_value = data.get("permissions")
    if permissions_value is None:
        permissions_value = []
    if not isinstance(permissions_value, list):
        raise fail(
            "permissions",
            f"must be a list of entries (each with name, actions, object_types, groups); "
            f"got {describe(permissions_value)}",
        )
    entries: list[PolicyEntry] = []
    for number, raw in enumerate(permissions_value, start=1):
        where = f"permissions[{number}]"
        if not isinstance(raw, dict):
            raise fail(where, f"must be a mapping with keys {', '.join(_ENTRY_KEYS)}; got {describe(raw)}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(where, f"'name' is required; expected a non-empty string, got {describe(name)}")
        where = f"{where} ({name!r})"
        for key in raw:
            if key not in _ENTRY_KEYS:
                raise fail(where, f"unknown key {key!r}; expected one of {', '.join(_ENTRY_KEYS)}")
        if "actions" not in raw:
            raise fail(where, f"'actions' is required; expected a list of {', '.join(ACTIONS)}")
        actions = string_list(raw["actions"], where, "actions", required=True)
        for action in actions:
            if action not in ACTIONS:
                raise fail(where, f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        if "object_types" not in raw:
            raise fail(where, f"'object_types' is required; expected a list of {', '.join(OBJECT_TYPES)}")
        object_types = string_list(raw["object_types"], where, "object_types", required=True)
        for object_type in object_types:
            if object_type not in OBJECT_TYPES:
                raise fail(where, f"unknown object type {object_type!r}; expected one of {', '.join(OBJECT_TYPES)}")
        group_names = string_list(raw.get("groups", []), where, "groups", required=False)
        for group_name in group_names:
            if group_name not in groups:
                known = ", ".join(sorted(groups)) or "none defined"
                raise fail(where, f"unknown group {group_name!r}; expected a name under 'groups' ({known})")
        users = string_list(raw.get("users", []), where, "users", required=False)
        for user in users:
            if not _USER_ID.match(user):
                raise fail(where, f"user {user!r} is not a Slack user ID; {_USER_ID_EXPECTED}")
        if not group_names and not users:
            raise fail(where, "grants nobody; expected 'groups' or 'users' (or both) to list who it applies to")
        jobs: list[str] = []
        if "jobs" in raw:
            if raw["jobs"] == []:
                raise fail(
                    where,
                    "'jobs' must not be empty; list glob patterns of job slugs or names, or omit it to allow every job",
                )
            jobs = string_list(raw["jobs"], where, "jobs", required=True)
        member_ids = set(users)
        member_handles: set[str] = set()
        for group_name in group_names:
            member_ids.update(groups[group_name][0])
            member_handles.update(groups[group_name][1])
        entries.append(
            PolicyEntry(
                name=name,
                actions=frozenset(actions),
                object_types=frozenset(object_types),
                user_ids=frozenset(member_ids),
                usergroups=frozenset(member_handles),
                groups=tuple(group_names),
                jobs=tuple(jobs),
            )
        )
    return Policy(admins=admins, entries=entries)
