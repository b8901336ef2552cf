"""Tests for bot.domain.permissions: parsing the permissions file's text and checking permissions."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Actor, JobRef, Perm, Policy, PolicyError, group_approvers
from bot.domain.policy_file import parse_policy

CONTRACT_EXAMPLE = """\
admins: [U0ADMIN1]                 # every permission, like a superuser
groups:
  netops: [U0AAA, U0BBB]           # Slack user IDs
  approvers: ["@net-approvers"]    # a Slack user group, by handle
permissions:
  - name: netops may run jobs
    actions: [run, view]
    object_types: [extras.job]
    groups: [netops]
  - name: approvers
    actions: [approve]
    object_types: [extras.job]
    jobs: ["maintenance.*"]        # optional constraint: slugs or names, glob
    groups: [approvers]
  - name: approvers manage schedules
    actions: [view, change, delete]
    object_types: [extras.scheduledjob]
    groups: [approvers]
"""

MAINTENANCE = JobRef(slug="maintenance.reboot", name="Reboot switches")
BACKUP = JobRef(slug="backup", name="Backup configs")

ADMIN = Actor("U0ADMIN1")
NETOPS = Actor("U0AAA")
APPROVER = Actor("U0CCC", frozenset({"net-approvers"}))
STRANGER = Actor("U0ZZZ", frozenset({"other-group"}))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(CONTRACT_EXAMPLE, source="policy.yml")


# --- the contract's example file ----------------------------------------------------------------------------------


def test_contract_example_loads(policy: Policy) -> None:
    assert policy.admins == frozenset({"U0ADMIN1"})
    assert [entry.name for entry in policy.entries] == [
        "netops may run jobs",
        "approvers",
        "approvers manage schedules",
    ]
    approvers = policy.entries[1]
    assert approvers.usergroups == frozenset({"net-approvers"})
    assert approvers.jobs == ("maintenance.*",)
    assert approvers.perms == frozenset({Perm.APPROVE_JOB})
    assert policy.entries[2].perms == frozenset(
        {Perm.VIEW_SCHEDULEDJOB, Perm.CHANGE_SCHEDULEDJOB, Perm.DELETE_SCHEDULEDJOB}
    )


@pytest.mark.parametrize(
    ("actor", "perm", "job", "expected"),
    [
        # group members by user ID
        (NETOPS, Perm.RUN_JOB, None, True),
        (NETOPS, Perm.RUN_JOB, BACKUP, True),
        (NETOPS, Perm.VIEW_JOB, MAINTENANCE, True),
        (Actor("U0BBB"), Perm.RUN_JOB, BACKUP, True),
        (NETOPS, Perm.APPROVE_JOB, None, False),
        (NETOPS, Perm.CHANGE_SCHEDULEDJOB, None, False),
        # members of a Slack user group, by handle
        (APPROVER, Perm.APPROVE_JOB, MAINTENANCE, True),
        (APPROVER, Perm.CHANGE_SCHEDULEDJOB, MAINTENANCE, True),
        (APPROVER, Perm.DELETE_SCHEDULEDJOB, BACKUP, True),
        (APPROVER, Perm.VIEW_SCHEDULEDJOB, None, True),
        (APPROVER, Perm.RUN_JOB, None, False),
        (APPROVER, Perm.VIEW_JOBRESULT, None, False),
        # the jobs constraint: object-level excluded, model-level still granted
        (APPROVER, Perm.APPROVE_JOB, BACKUP, False),
        (APPROVER, Perm.APPROVE_JOB, None, True),
        # nobody else
        (STRANGER, Perm.RUN_JOB, None, False),
        (STRANGER, Perm.VIEW_SCHEDULEDJOB, MAINTENANCE, False),
        (Actor("U0CCC"), Perm.APPROVE_JOB, MAINTENANCE, False),
        # admins have everything
        *[(ADMIN, perm, job, True) for perm in Perm for job in (None, BACKUP)],
    ],
)
def test_has_perm_on_contract_example(
    policy: Policy, actor: Actor, perm: Perm, job: JobRef | None, expected: bool
) -> None:
    assert policy.has_perm(actor, perm, job) is expected


def test_is_admin(policy: Policy) -> None:
    assert policy.is_admin(ADMIN)
    assert not policy.is_admin(NETOPS)
    assert not policy.is_admin(APPROVER)


def test_empty_policy_grants_nothing() -> None:
    policy = Policy.empty()
    assert not policy.is_admin(ADMIN)
    assert not any(policy.has_perm(ADMIN, perm) for perm in Perm)
    assert policy.approver_targets(MAINTENANCE, requester_id=None) == (frozenset(), frozenset())


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "{}", "admins:\ngroups:\npermissions:\n", "---\n"])
def test_empty_file_is_an_empty_policy(text: str) -> None:
    policy = parse_policy(text)
    assert policy.admins == frozenset()
    assert policy.entries == ()


def test_policy_is_immutable(policy: Policy) -> None:
    with pytest.raises(AttributeError):
        policy._admins = frozenset({"U0EVIL"})
    assert not policy.is_admin(Actor("U0EVIL"))


def test_perm_parts() -> None:
    assert Perm.APPROVE_JOB.action == "approve"
    assert Perm.APPROVE_JOB.object_type == "extras.job"
    assert Perm.CHANGE_SCHEDULEDJOB.action == "change"
    assert Perm.CHANGE_SCHEDULEDJOB.object_type == "extras.scheduledjob"
    assert Perm.VIEW_JOBRESULT.object_type == "extras.jobresult"


def test_actor_handles_drop_a_leading_at() -> None:
    assert Actor("U1", frozenset({"@net-approvers", "ops"})).usergroups == frozenset({"net-approvers", "ops"})


# --- membership ----------------------------------------------------------------------------------------------------


MEMBERSHIP = """\
groups:
  mixed: [U0AAA, W0BBB, "@oncall", "@net.approvers_2"]
permissions:
  - name: via group
    actions: [run]
    object_types: [extras.job]
    groups: [mixed]
  - name: direct users
    actions: [view]
    object_types: [extras.jobresult]
    users: [U0DDD]
  - name: both
    actions: [delete]
    object_types: [extras.scheduledjob]
    groups: [mixed]
    users: [U0EEE]
"""


@pytest.mark.parametrize(
    ("actor", "perm", "expected"),
    [
        (Actor("U0AAA"), Perm.RUN_JOB, True),
        (Actor("W0BBB"), Perm.RUN_JOB, True),
        (Actor("U0XXX", frozenset({"oncall"})), Perm.RUN_JOB, True),
        (Actor("U0XXX", frozenset({"net.approvers_2"})), Perm.RUN_JOB, True),
        (Actor("U0XXX", frozenset({"oncall-2", "approvers"})), Perm.RUN_JOB, False),
        (Actor("U0XXX"), Perm.RUN_JOB, False),
        (Actor("U0DDD"), Perm.VIEW_JOBRESULT, True),
        (Actor("U0DDD"), Perm.RUN_JOB, False),
        (Actor("U0AAA"), Perm.VIEW_JOBRESULT, False),
        (Actor("U0EEE"), Perm.DELETE_SCHEDULEDJOB, True),
        (Actor("U0XXX", frozenset({"oncall"})), Perm.DELETE_SCHEDULEDJOB, True),
        (Actor("U0EEE"), Perm.RUN_JOB, False),
    ],
)
def test_membership_by_id_group_and_handle(actor: Actor, perm: Perm, expected: bool) -> None:
    assert parse_policy(MEMBERSHIP).has_perm(actor, perm) is expected


def test_handles_are_matched_exactly_not_by_user_id() -> None:
    policy = parse_policy(MEMBERSHIP)
    # a user whose ID happens to equal a handle is not a member of that group
    assert not policy.has_perm(Actor("oncall"), Perm.RUN_JOB)


# --- jobs constraints --------------------------------------------------------------------------------------------


def _constrained(patterns: str) -> Policy:
    return parse_policy(
        f"""
permissions:
  - name: constrained
    actions: [run, view, approve, change, delete]
    object_types: [extras.job, extras.scheduledjob, extras.jobresult]
    users: [U0AAA]
    jobs: {patterns}
"""
    )


@pytest.mark.parametrize(
    ("patterns", "job", "expected"),
    [
        ('["maintenance.*"]', JobRef("maintenance.reboot", "Reboot"), True),
        ('["maintenance.*"]', JobRef("maintenance", "Reboot"), False),
        ('["maintenance.*"]', JobRef("backup", "maintenance.backup"), True),  # matches the name
        ('["Backup *"]', JobRef("backup", "Backup configs"), True),  # by name
        ('["Backup *"]', JobRef("backup", "backup configs"), False),  # case-sensitive
        ('["backup"]', JobRef("backup", "Backup configs"), True),  # exact slug
        ('["backup"]', JobRef("backup-all", "Backup all"), False),  # not a prefix match
        ('["back?p"]', JobRef("backup", "x"), True),
        ('["[bc]ackup"]', JobRef("cackup", "x"), True),
        ('["[!b]ackup"]', JobRef("backup", "x"), False),
        ('["*"]', JobRef("anything", "Anything"), True),
        ('["a.*", "b.*"]', JobRef("b.one", "One"), True),
        ('["a.*", "b.*"]', JobRef("c.one", "One"), False),
    ],
)
def test_job_globs_match_slug_or_name(patterns: str, job: JobRef, expected: bool) -> None:
    policy = _constrained(patterns)
    actor = Actor("U0AAA")
    # the constraint applies to every object type
    for perm in (Perm.RUN_JOB, Perm.APPROVE_JOB, Perm.CHANGE_SCHEDULEDJOB, Perm.VIEW_JOBRESULT):
        assert policy.has_perm(actor, perm, job) is expected
        # model level: any granting entry counts whatever its constraint
        assert policy.has_perm(actor, perm) is True


def test_any_of_several_entries_may_grant() -> None:
    policy = parse_policy(
        """
permissions:
  - {name: a, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: ["a.*"]}
  - {name: b, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: ["b.*"]}
"""
    )
    actor = Actor("U0AAA")
    assert policy.has_perm(actor, Perm.RUN_JOB, JobRef("a.x", "X"))
    assert policy.has_perm(actor, Perm.RUN_JOB, JobRef("b.x", "X"))
    assert not policy.has_perm(actor, Perm.RUN_JOB, JobRef("c.x", "X"))


def test_unconstrained_entry_grants_every_job_next_to_a_constrained_one() -> None:
    policy = parse_policy(
        """
permissions:
  - {name: some, actions: [approve], object_types: [extras.job], users: [U0AAA], jobs: ["a.*"]}
  - {name: all, actions: [approve], object_types: [extras.job], users: [U0BBB]}
"""
    )
    assert policy.has_perm(Actor("U0BBB"), Perm.APPROVE_JOB, JobRef("z", "Z"))
    assert not policy.has_perm(Actor("U0AAA"), Perm.APPROVE_JOB, JobRef("z", "Z"))


def test_combinations_without_a_jobgate_permission_are_ignored() -> None:
    policy = parse_policy(
        "permissions: [{name: odd, actions: [approve, run], object_types: [extras.scheduledjob], users: [U0AAA]}]"
    )
    assert policy.entries[0].perms == frozenset()
    assert not any(policy.has_perm(Actor("U0AAA"), perm) for perm in Perm)


# --- approver_targets ----------------------------------------------------------------------------------------------


def test_approver_targets_on_contract_example(policy: Policy) -> None:
    assert policy.approver_targets(MAINTENANCE, requester_id=None) == (
        frozenset({"U0ADMIN1"}),
        frozenset({"net-approvers"}),
    )
    # the approvers' approve_job is constrained to maintenance.*: only admins remain
    assert policy.approver_targets(BACKUP, requester_id=None) == (frozenset({"U0ADMIN1"}), frozenset())


def test_approver_targets_need_both_permissions() -> None:
    policy = parse_policy(
        """
admins: [U0ADMIN1, U0ADMIN2]
groups:
  leads: [U0LEAD, "@leads"]
  approve_only: [U0APP, "@approve-only"]
  change_only: [U0CHG, "@change-only"]
permissions:
  - name: approve
    actions: [approve]
    object_types: [extras.job]
    groups: [leads, approve_only]
    users: [U0DIRECT]
  - name: change
    actions: [change]
    object_types: [extras.scheduledjob]
    groups: [leads, change_only]
    users: [U0DIRECT]
  - name: approve backups only
    actions: [approve, change]
    object_types: [extras.job, extras.scheduledjob]
    users: [U0BACKUP]
    jobs: ["backup*"]
"""
    )
    users, handles = policy.approver_targets(MAINTENANCE, requester_id=None)
    assert users == frozenset({"U0ADMIN1", "U0ADMIN2", "U0LEAD", "U0DIRECT"})
    assert handles == frozenset({"leads"})
    users, handles = policy.approver_targets(BACKUP, requester_id=None)
    assert users == frozenset({"U0ADMIN1", "U0ADMIN2", "U0LEAD", "U0DIRECT", "U0BACKUP"})
    assert handles == frozenset({"leads"})


def test_approver_targets_respect_a_constraint_on_change_scheduledjob() -> None:
    policy = parse_policy(
        """
permissions:
  - {name: approve, actions: [approve], object_types: [extras.job], users: [U0AAA]}
  - {name: change, actions: [change], object_types: [extras.scheduledjob], users: [U0AAA], jobs: ["backup"]}
"""
    )
    assert policy.approver_targets(BACKUP, requester_id=None) == (frozenset({"U0AAA"}), frozenset())
    assert policy.approver_targets(MAINTENANCE, requester_id=None) == (frozenset(), frozenset())


REQUESTERS_POLICY = """
admins: [U0ADMIN1]
groups:
  leads: [U0LEAD, U0LEAD2, "@leads"]
permissions:
  - {name: approve, actions: [approve], object_types: [extras.job], groups: [leads], users: [U0DIRECT]}
  - {name: change, actions: [change], object_types: [extras.scheduledjob], groups: [leads], users: [U0DIRECT]}
"""


@pytest.mark.parametrize(
    ("requester_id", "users"),
    [
        (None, {"U0ADMIN1", "U0LEAD", "U0LEAD2", "U0DIRECT"}),
        ("U0NOBODY", {"U0ADMIN1", "U0LEAD", "U0LEAD2", "U0DIRECT"}),
        ("U0ADMIN1", {"U0LEAD", "U0LEAD2", "U0DIRECT"}),  # an admin who asked is not asked either
        ("U0LEAD", {"U0ADMIN1", "U0LEAD2", "U0DIRECT"}),  # a member of a group of user IDs
        ("U0DIRECT", {"U0ADMIN1", "U0LEAD", "U0LEAD2"}),  # a user listed directly
    ],
)
def test_approver_targets_never_include_the_requester(requester_id: str | None, users: set[str]) -> None:
    policy = parse_policy(REQUESTERS_POLICY)
    targets = policy.approver_targets(MAINTENANCE, requester_id=requester_id)
    assert targets == (frozenset(users), frozenset({"leads"}))  # a handle is expanded, and filtered, by the edge
    assert requester_id not in targets[0]


@pytest.mark.parametrize(
    ("members", "requester_id", "expected"),
    [
        (["U0B", "U0A", "U0C"], None, ("U0B", "U0A", "U0C")),  # Slack's order is kept
        (["U0B", "U0A", "U0C"], "U0A", ("U0B", "U0C")),
        (["U0A"], "U0A", ()),
        ([], "U0A", ()),
        (["U0B", "U0C"], "U0A", ("U0B", "U0C")),
    ],
)
def test_group_approvers_leave_out_the_requester(
    members: list[str], requester_id: str | None, expected: tuple[str, ...]
) -> None:
    assert group_approvers(members, requester_id=requester_id) == expected


# --- malformed files -----------------------------------------------------------------------------------------------

VALID_ENTRY = "{name: e, actions: [run], object_types: [extras.job], users: [U0AAA]}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # top level
        ("- U0AAA\n", "policy.yml: the top level must be a mapping"),
        ("just a string\n", "policy.yml: the top level must be a mapping"),
        (
            "admin: [U0AAA]\n",
            "policy.yml: top-level key 'admin': unknown key; expected one of admins, groups, permissions",
        ),
        # admins
        ("admins: U0AAA\n", "policy.yml: admins: must be a list of Slack user IDs"),
        ("admins: [bob]\n", "policy.yml: admins: 'bob' is not a Slack user ID; expected a Slack user ID"),
        ("admins: [u0aaa]\n", "policy.yml: admins: 'u0aaa' is not a Slack user ID"),
        ("admins: [U0]\n", "policy.yml: admins: 'U0' is not a Slack user ID"),
        ('admins: ["@admins"]\n', "policy.yml: admins: '@admins' is not a Slack user ID"),
        ("admins: [C0CHANNEL]\n", "policy.yml: admins: 'C0CHANNEL' is not a Slack user ID"),
        ("admins: [123]\n", "policy.yml: admins: a number 123 is not a Slack user ID"),
        # groups
        ("groups: [netops]\n", "policy.yml: groups: must be a mapping of group name to members"),
        ("groups: {netops: U0AAA}\n", "policy.yml: groups.netops: must be a list of members"),
        ("groups: {netops: }\n", "policy.yml: groups.netops: must be a list of members"),
        ("groups: {netops: [bob]}\n", "policy.yml: groups.netops: member 'bob' is not valid; expected a Slack user ID"),
        ('groups: {netops: ["@"]}\n', "policy.yml: groups.netops: member '@' is not valid"),
        ('groups: {netops: ["@Net-Approvers"]}\n', "policy.yml: groups.netops: member '@Net-Approvers' is not valid"),
        ('groups: {netops: ["@net approvers"]}\n', "policy.yml: groups.netops: member '@net approvers' is not valid"),
        ('groups: {netops: ["net-approvers"]}\n', "policy.yml: groups.netops: member 'net-approvers' is not valid"),
        ("groups: {netops: [[U0AAA]]}\n", "policy.yml: groups.netops: member a list is not valid"),
        ('groups: {netops: ["@net-approvers:s0abc"]}\n',
         "policy.yml: groups.netops: member '@net-approvers:s0abc' is not valid; expected a Slack user ID such as "
         "U0123ABCD, a user-group handle such as @net-approvers (lower-case letters, digits, '.', '_' or '-'), or a "
         "user group pinned to its ID such as @net-approvers:S0123ABCD"),
        ('groups: {netops: ["@net-approvers:"]}\n', "policy.yml: groups.netops: member '@net-approvers:' is not valid"),
        ("groups: {1: [U0AAA]}\n", "policy.yml: groups: group name a number 1 is not valid"),
        # permissions
        ("permissions: {name: x}\n", "policy.yml: permissions: must be a list of entries"),
        ("permissions: [run]\n", "policy.yml: permissions[1]: must be a mapping"),
        (
            "permissions: [{actions: [run], object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1]: 'name' is required; expected a non-empty string, got nothing",
        ),
        ("permissions: [{name: ''}]\n", "policy.yml: permissions[1]: 'name' is required"),
        (
            "permissions: [{name: 7}]\n",
            "policy.yml: permissions[1]: 'name' is required; expected a non-empty string, got a number 7",
        ),
        (
            f"permissions: [{VALID_ENTRY},"
            " {name: second, actions: [run], object_types: [extras.job], users: [U0A], jobz: [x]}]\n",
            "policy.yml: permissions[2] ('second'): unknown key 'jobz'; "
            "expected one of name, actions, object_types, groups, users, jobs",
        ),
        (
            "permissions: [{name: e, object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'actions' is required; "
            "expected a list of approve, change, delete, run, view",
        ),
        (
            "permissions: [{name: e, actions: run, object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'actions' must be a list, e.g. actions: [run, view]; got a string 'run'",
        ),
        (
            "permissions: [{name: e, actions: [], object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'actions' must not be empty",
        ),
        (
            "permissions: [{name: approvers, actions: [aprove], object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('approvers'): unknown action 'aprove'; "
            "expected one of approve, change, delete, run, view",
        ),
        (
            "permissions: [{name: e, actions: [yes], object_types: [extras.job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'actions' must list non-empty strings; got a boolean True",
        ),
        (
            "permissions: [{name: e, actions: [run], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'object_types' is required; "
            "expected a list of extras.job, extras.scheduledjob, extras.jobresult",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'object_types' must not be empty",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: extras.job, users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): 'object_types' must be a list",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [job], users: [U0AAA]}]\n",
            "policy.yml: permissions[1] ('e'): unknown object type 'job'; "
            "expected one of extras.job, extras.scheduledjob, extras.jobresult",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], groups: [netops]}]\n",
            "policy.yml: permissions[1] ('e'): unknown group 'netops'; expected a name under 'groups' (none defined)",
        ),
        (
            "groups: {ops: [U0AAA], dev: []}\n"
            "permissions: [{name: e, actions: [run], object_types: [extras.job], groups: [netops]}]\n",
            "policy.yml: permissions[1] ('e'): unknown group 'netops'; expected a name under 'groups' (dev, ops)",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], groups: netops}]\n",
            "policy.yml: permissions[1] ('e'): 'groups' must be a list",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: [bob]}]\n",
            "policy.yml: permissions[1] ('e'): user 'bob' is not a Slack user ID",
        ),
        (
            'permissions: [{name: e, actions: [run], object_types: [extras.job], users: ["@ops"]}]\n',
            "policy.yml: permissions[1] ('e'): user '@ops' is not a Slack user ID",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: U0AAA}]\n",
            "policy.yml: permissions[1] ('e'): 'users' must be a list",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job]}]\n",
            "policy.yml: permissions[1] ('e'): grants nobody; expected 'groups' or 'users'",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], groups: [], users: []}]\n",
            "policy.yml: permissions[1] ('e'): grants nobody",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: []}]\n",
            "policy.yml: permissions[1] ('e'): 'jobs' must not be empty",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: backup}]\n",
            "policy.yml: permissions[1] ('e'): 'jobs' must be a list",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: [1]}]\n",
            "policy.yml: permissions[1] ('e'): 'jobs' must list non-empty strings; got a number 1",
        ),
        (
            "permissions: [{name: e, actions: [run], object_types: [extras.job], users: [U0AAA], jobs: ['']}]\n",
            "policy.yml: permissions[1] ('e'): 'jobs' must list non-empty strings; got a string ''",
        ),
    ],
)
def test_malformed_file_names_the_entry(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text, source="policy.yml")
    message = str(excinfo.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_contract_example_with_a_typo_names_the_entry() -> None:
    text = CONTRACT_EXAMPLE.replace("actions: [approve]", "actions: [aprove]")
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text, source="policy.yml")
    assert str(excinfo.value) == (
        "policy.yml: permissions[2] ('approvers'): unknown action 'aprove'; "
        "expected one of approve, change, delete, run, view"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("admins: [U0AAA\n", 2),
        ("groups:\n  netops: [U0AAA]\n   bad: indentation\n", 3),
        ("permissions:\n  - name: x\n    actions: [run]]\n", 3),
        ("admins: [U0AAA]\nadmins: [U0BBB]\n", 2),  # a duplicate key would silently replace the first
        ("groups:\n  netops: [U0AAA]\n  netops: [U0EVIL]\n", 3),
        ("admins: '\n", 2),
        ("\tadmins: []\n", 1),
    ],
)
def test_yaml_syntax_error_names_the_line(text: str, line: int) -> None:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text, source="policy.yml")
    assert str(excinfo.value).startswith(f"policy.yml: line {line}: invalid YAML: ")


def test_duplicate_key_message() -> None:
    with pytest.raises(PolicyError, match=r"^policy\.yml: line 3: invalid YAML: duplicate key 'netops'$"):
        parse_policy("groups:\n  netops: [U0AAA]\n  netops: [U0EVIL]\n", source="policy.yml")


def test_default_source_name() -> None:
    with pytest.raises(PolicyError, match=r"^policy file: admins: "):
        parse_policy("admins: [bob]")


@pytest.mark.parametrize("member", ["@net-approvers:S0NETAPP", "S0NETAPP"])
def test_a_group_pinned_to_its_id_grants_its_members_whatever_its_handle(member: str) -> None:
    policy = parse_policy(
        f'groups: {{approvers: ["{member}"]}}\n'
        "permissions: [{name: a, actions: [approve, change], object_types: [extras.job, extras.scheduledjob],"
        " groups: [approvers]}]\n", source="policy.yml")
    job = JobRef(slug="maintenance.reboot", name="Reboot")
    assert policy.has_perm(Actor("U1", frozenset({"old-handle", "S0NETAPP"})), Perm.APPROVE_JOB, job)
    assert not policy.has_perm(Actor("U2", frozenset({"net-approvers", "S0EVIL"})), Perm.APPROVE_JOB, job)
    assert policy.approver_targets(job, requester_id=None) == (frozenset(), frozenset({"S0NETAPP"}))


def test_the_add_action_is_refused_naming_the_entry_and_its_line() -> None:
    # Scheduling needs only "run" on the job, as in Nautobot: an "add" grant would restrict nothing.
    text = CONTRACT_EXAMPLE.replace("actions: [view, change, delete]", "actions: [view, add, change, delete]")
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text, source="policy.yml")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "add, change" in row)
    message = str(excinfo.value)
    assert message.startswith(f"policy.yml: permissions[3] ('approvers manage schedules'), line {line}: action 'add'")
    assert "needs 'run' on the job" in message and "remove 'add'" in message
