"""The permissions file: parsing and validating its YAML text into a :class:`~bot.domain.permissions.Policy`.

Every loading rule lives here: the top-level keys, groups of Slack user IDs and user-group handles, and each
permission entry (actions, object types, who, and the optional ``jobs`` constraint), with one-line messages naming the
entry and what is expected. The file is read by the edge (``bot.app``); this module gets its text.

Pure: stdlib and PyYAML only. Must not import Slack, SQLAlchemy, storage or handlers.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes

from bot.domain.approval_rules import ApprovalRule, parse_duration
from bot.domain.permissions import ACTIONS, OBJECT_TYPES, Policy, PolicyEntry, PolicyError

__all__ = ["parse_policy"]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
_PINNED = re.compile(r"^(?:@[a-z0-9][a-z0-9._-]*:)?(S[A-Z0-9]{2,})$")  # "@net-approvers:S0123ABCD" or "S0123ABCD"
_TOP_LEVEL_KEYS = ("admins", "groups", "permissions", "approval_rules")
_RULE_KEYS = ("jobs", "min_approvers", "expire_after", "remind_every", "escalate_after", "escalate_to")
_ENTRY_KEYS = ("name", "actions", "object_types", "groups", "users", "jobs")
_USER_ID_EXPECTED = "expected a Slack user ID such as U0123ABCD (U or W, then capital letters and digits)"
_MEMBER_EXPECTED = (
    "expected a Slack user ID such as U0123ABCD, a user-group handle such as @net-approvers"
    " (lower-case letters, digits, '.', '_' or '-'), or a user group pinned to its ID such as"
    " @net-approvers:S0123ABCD"
)


def parse_policy(text: str, *, source: str = "policy file") -> Policy:
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
    policy = _build_policy(data, source=source, action_lines=_action_lines(text))
    if isinstance(data, dict) and data.get("approval_rules") is not None:
        groups = _group_members(data.get("groups"))
        rules = _build_rules(data["approval_rules"], _rule_lines(text), groups, source=source)
        policy = Policy(admins=policy.admins, entries=policy.entries, approval_rules=rules)
    return policy


def _rule_lines(text: str) -> list[int]:
    """The line (1-based) each ``approval_rules:`` entry starts on, in order."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "approval_rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _group_members(groups: object) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Group name to ``(user IDs, user-group handles or pinned IDs)``; the groups were validated already."""
    found: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for name, members in (groups or {}).items() if isinstance(groups, dict) else ():
        ids = frozenset(m for m in members if _USER_ID.match(m))
        handles = {m[1:] for m in members if _HANDLE.match(m)}
        handles.update(p.group(1) for m in members if (p := _PINNED.match(m)))
        found[str(name)] = (ids, frozenset(handles))
    return found


def _build_rules(
    value: object,
    lines: list[int],
    groups: dict[str, tuple[frozenset[str], frozenset[str]]],
    *,
    source: str,
) -> list[ApprovalRule]:
    """Validate the ``approval_rules:`` entries; each error names the entry, its line and what is expected."""
    example = 'e.g. - jobs: ["maintenance.*"]\n    min_approvers: 2'
    if not isinstance(value, list):
        raise PolicyError(f"{source}: approval_rules: must be a list of rules, each with 'jobs' ({example})")
    rules: list[ApprovalRule] = []
    for number, raw in enumerate(value, start=1):
        line = lines[number - 1] if number - 1 < len(lines) else None
        where = f"approval_rules[{number}]" + (f" (line {line})" if line is not None else "")

        def fail(problem: str, where: str = where) -> PolicyError:
            return PolicyError(f"{source}: {where}: {problem}")

        if not isinstance(raw, dict):
            raise fail(f"must be a mapping with keys {', '.join(_RULE_KEYS)}")
        for key in raw:
            if key not in _RULE_KEYS:
                raise fail(f"unknown key {key!r}; expected one of {', '.join(_RULE_KEYS)}")
        jobs = raw.get("jobs")
        if not isinstance(jobs, list) or not jobs or not all(isinstance(j, str) and j for j in jobs):
            raise fail('\'jobs\' is required: a non-empty list of glob patterns of job slugs or names, '
                       'e.g. jobs: ["maintenance.*"]')
        min_approvers = raw.get("min_approvers", 1)
        if isinstance(min_approvers, bool) or not isinstance(min_approvers, int) or not 1 <= min_approvers <= 50:
            raise fail(f"'min_approvers' must be a whole number from 1 to 50; got {min_approvers!r}")
        durations: dict[str, Any] = {}
        for key in ("expire_after", "remind_every", "escalate_after"):
            if raw.get(key) is not None:
                try:
                    durations[key] = parse_duration(raw[key])
                except ValueError as exc:
                    raise fail(f"'{key}': {exc}") from None
        escalate_to = raw.get("escalate_to", [])
        if not isinstance(escalate_to, list) or not all(isinstance(g, str) and g for g in escalate_to):
            raise fail(f"'escalate_to' must be a list of group names, e.g. escalate_to: [oncall]; got {escalate_to!r}")
        for group_name in escalate_to:
            if group_name not in groups:
                known = ", ".join(sorted(groups)) or "none defined"
                raise fail(f"'escalate_to': unknown group {group_name!r}; expected a name under 'groups' ({known})")
        if escalate_to and "escalate_after" not in durations:
            raise fail("'escalate_to' needs 'escalate_after', e.g. escalate_after: 8h")
        if "escalate_after" in durations and not escalate_to:
            raise fail("'escalate_after' needs 'escalate_to', the groups to ask, e.g. escalate_to: [oncall]")
        rules.append(ApprovalRule(
            jobs=tuple(jobs),
            min_approvers=min_approvers,
            expire_after=durations.get("expire_after"),
            remind_every=durations.get("remind_every"),
            escalate_after=durations.get("escalate_after"),
            escalate_to=tuple(escalate_to),
            escalate_user_ids=frozenset().union(*(groups[g][0] for g in escalate_to)),
            escalate_usergroups=frozenset().union(*(groups[g][1] for g in escalate_to)),
            line=line,
        ))
    return rules

def _action_lines(text: str) -> dict[int, int]:
    """The line of each permission entry's ``actions`` (by entry number, from 1), for messages naming the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[int, int] = {}
    if not isinstance(root, yaml.nodes.MappingNode):
        return lines
    for key, value in root.value:
        if key.value != "permissions" or not isinstance(value, yaml.nodes.SequenceNode):
            continue
        for number, entry in enumerate(value.value, start=1):
            if isinstance(entry, yaml.nodes.MappingNode):
                for entry_key, entry_value in entry.value:
                    if entry_key.value == "actions":
                        lines[number] = entry_value.start_mark.line + 1
    return lines


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


def _build_policy(data: object, *, source: str, action_lines: dict[int, int] | None = None) -> Policy:
    """Validate the parsed permissions file and build the policy. All the loading rules live here.

    Args:
        data: what the YAML parser returned.
        source: how to name the file in messages.
        action_lines: the line of each entry's ``actions``, by entry number, where known.

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
            elif isinstance(member, str) and (pinned := _PINNED.match(member)):
                handles.add(pinned.group(1))  # the group ID: its members, whatever its handle is now
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
            if action == "add":
                line = (action_lines or {}).get(number)
                raise fail(
                    f"{where}, line {line}" if line else where,
                    "action 'add' is not used by jobgate and would restrict nothing: asking for a run, now or on a "
                    "schedule, needs 'run' on the job, as in Nautobot (extras.add_scheduledjob is never checked); "
                    "remove 'add' from this entry",
                )
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
