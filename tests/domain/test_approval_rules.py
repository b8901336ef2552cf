"""Approval rules in the permissions file and in the domain: quorum, expiry, reminders and escalation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.approval_rules import (
    DEFAULT_RULE,
    Vote,
    counting_approvers,
    escalates_at,
    expires_at,
    is_escalated,
    next_reminder_at,
    parse_duration,
    to_remind,
)
from bot.domain.approvals import (
    EXPIRED_MESSAGE,
    REPEAT_APPROVAL_MESSAGE,
    Action,
    ApprovalState,
    RequestFacts,
    decide,
)
from bot.domain.errors import DomainError, InvalidStateError, PastDueError, PermissionDeniedError
from bot.domain.permissions import Actor, JobRef, PolicyError
from bot.domain.policy_file import parse_policy
from bot.domain.schedules import IntervalType

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
REQUESTER = "U0REQ"
APPROVERS = ("U0A1", "U0A2", "U0A3", "U0A4", "U0A5")
ONCALL = "U0ONCALL"
OUTSIDER = "U0OUT"
MAINTENANCE = JobRef(slug="maintenance.Reboot", name="Reboot switches")
OTHER = JobRef(slug="other.Thing", name="Other thing")

POLICY = f"""\
groups:
  approvers: [{", ".join(APPROVERS)}]
  requesters: [{REQUESTER}]
  oncall: [{ONCALL}, "@oncall"]
permissions:
  - name: approvers
    actions: [approve, change, delete, view]
    object_types: [extras.job, extras.scheduledjob]
    groups: [approvers]
approval_rules:
  - jobs: ["maintenance.*"]
    min_approvers: 2
    expire_after: 24h
    remind_every: 4h
    escalate_after: 8h
    escalate_to: [oncall]
  - jobs: ["Other thing"]
    min_approvers: 3
"""


def request(job: JobRef = MAINTENANCE, **changes: object) -> RequestFacts:
    policy = parse_policy(POLICY)
    rule = policy.approval_rule(job)
    facts = RequestFacts(
        scheduled_job_id="sj-1", name="reboot", requester_id=REQUESTER, job=job, interval=IntervalType.IMMEDIATELY,
        start_time=NOW, approval_state=ApprovalState.PENDING, created_at=NOW, min_approvers=rule.min_approvers,
        expires_at=expires_at(rule, NOW), rule=rule,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- the permissions file


def test_the_readme_example_parses_into_the_rule_for_maintenance_jobs() -> None:
    rule = parse_policy(POLICY).approval_rule(MAINTENANCE)
    assert rule.min_approvers == 2
    assert rule.expire_after == timedelta(days=1)
    assert rule.remind_every == timedelta(hours=4)
    assert rule.escalate_after == timedelta(hours=8)
    assert rule.escalate_to == ("oncall",)
    assert rule.escalate_user_ids == {ONCALL} and rule.escalate_usergroups == {"oncall"}


def test_the_first_matching_rule_applies_by_slug_or_name_and_others_get_the_defaults() -> None:
    policy = parse_policy(POLICY + '  - jobs: ["maintenance.Reboot"]\n    min_approvers: 5\n')
    assert policy.approval_rule(MAINTENANCE).min_approvers == 2  # first match wins
    assert policy.approval_rule(OTHER).min_approvers == 3  # by name
    assert policy.approval_rule(JobRef(slug="x.Y", name="Y")) == DEFAULT_RULE
    assert DEFAULT_RULE.min_approvers == 1 and DEFAULT_RULE.expire_after is None and DEFAULT_RULE.remind_every is None


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("4h", 14400), ("2d", 172800),
                                               ("45", 45), (45, 45), ("1.5h", 5400)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("rule", "expected"), [
    ("  - jobs: [x]\n    expire_after: 4 weeks\n",
     "approval_rules[1] (line 2): 'expire_after': '4 weeks' is not a duration; expected a number with a unit"),
    ("  - jobs: [x]\n    remind_every: 0\n", "approval_rules[1] (line 2): 'remind_every': 0 is not a duration longer"),
    ("  - jobs: [x]\n  - jobs: [y]\n    min_approvers: 0\n",
     "approval_rules[2] (line 3): 'min_approvers' must be a whole number from 1 to 50; got 0"),
    ("  - min_approvers: 2\n", "approval_rules[1] (line 2): 'jobs' is required"),
    ("  - jobs: [x]\n    escalate_after: 8h\n    escalate_to: [nobody]\n",
     "approval_rules[1] (line 2): 'escalate_to': unknown group 'nobody'"),
    ("  - jobs: [x]\n    escalate_to: [oncall]\n", "approval_rules[1] (line 2): 'escalate_to' needs 'escalate_after'"),
    ("  - jobs: [x]\n    min_aprovers: 2\n", "approval_rules[1] (line 2): unknown key 'min_aprovers'"),
])
def test_bad_rules_are_refused_with_one_line_naming_the_entry_and_its_line(rule: str, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy("groups:\n  oncall: [U0ONCALL]\napproval_rules:\n" + rule, source="policy.yml")
    message = str(caught.value)
    assert "\n" not in message
    # the groups take two lines before approval_rules:
    want = expected.replace("(line 2)", "(line 4)").replace("(line 3)", "(line 5)")
    assert message.startswith(f"policy.yml: {want}"), message


# ---------------------------------------------------------------------------------------------- quorum rules


def approver(user: str) -> Actor:
    return Actor(user)


def test_the_first_approval_of_two_keeps_the_request_pending_and_the_second_approves_it() -> None:
    policy = parse_policy(POLICY)
    first = decide(request(), Action.APPROVE, actor=approver("U0A1"), policy=policy, now=NOW)
    assert first.approval_state is ApprovalState.PENDING and first.approvers == ("U0A1",)
    assert not first.runs_at_once
    second = decide(request(approvals=(Vote("U0A1", NOW),)), Action.APPROVE, actor=approver("U0A2"), policy=policy,
                    now=NOW)
    assert second.approval_state is ApprovalState.APPROVED and second.approvers == ("U0A1", "U0A2")
    assert second.runs_at_once


def test_the_same_approver_twice_is_refused() -> None:
    with pytest.raises(InvalidStateError, match=REPEAT_APPROVAL_MESSAGE):
        decide(request(approvals=(Vote("U0A1", NOW),)), Action.APPROVE, actor=approver("U0A1"),
               policy=parse_policy(POLICY), now=NOW)


def test_a_decision_after_expiry_is_refused_even_before_the_state_says_so() -> None:
    later = NOW + timedelta(days=1)
    for action in (Action.APPROVE, Action.DENY):
        with pytest.raises(InvalidStateError, match=EXPIRED_MESSAGE):
            decide(request(), action, actor=approver("U0A1"), policy=parse_policy(POLICY), now=later)


def test_a_past_due_request_needs_the_confirmation_on_every_approval() -> None:
    policy = parse_policy(POLICY)
    past = request(interval=IntervalType.FUTURE, start_time=NOW - timedelta(minutes=1))
    with pytest.raises(PastDueError):
        decide(past, Action.APPROVE, actor=approver("U0A1"), policy=policy, now=NOW)
    decide(past, Action.APPROVE, actor=approver("U0A1"), policy=policy, now=NOW, force=True)
    with pytest.raises(PastDueError):
        decide(replace(past, approvals=(Vote("U0A1", NOW),)), Action.APPROVE, actor=approver("U0A2"), policy=policy,
               now=NOW)


def test_the_oncall_group_may_approve_only_once_escalation_started() -> None:
    policy = parse_policy(POLICY)
    for actor in (Actor(ONCALL), Actor("U0SOMEONE", frozenset({"oncall"}))):
        with pytest.raises(PermissionDeniedError):
            decide(request(), Action.APPROVE, actor=actor, policy=policy, now=NOW + timedelta(hours=7))
        decided = decide(request(), Action.APPROVE, actor=actor, policy=policy, now=NOW + timedelta(hours=8))
        assert decided.approvers == (actor.user_id,)


def test_reminders_and_escalation_times() -> None:
    rule = parse_policy(POLICY).approval_rule(MAINTENANCE)
    assert next_reminder_at(rule, NOW, NOW) == NOW + timedelta(hours=4)
    assert next_reminder_at(rule, NOW, NOW + timedelta(hours=4)) == NOW + timedelta(hours=8)
    assert next_reminder_at(rule, NOW, NOW + timedelta(hours=9)) == NOW + timedelta(hours=12)
    assert next_reminder_at(DEFAULT_RULE, NOW, NOW) is None
    assert escalates_at(rule, NOW) == NOW + timedelta(hours=8)
    assert not is_escalated(rule, NOW, NOW + timedelta(hours=7, minutes=59))
    assert is_escalated(rule, NOW, NOW + timedelta(hours=8))
    assert escalates_at(DEFAULT_RULE, NOW) is None
    votes = [Vote("U0A2", NOW)]
    assert to_remind([*APPROVERS, REQUESTER], votes, requester_id=REQUESTER) == ("U0A1", "U0A3", "U0A4", "U0A5")


def test_only_distinct_approvals_made_before_expiry_by_others_than_the_requester_count() -> None:
    expiry = NOW + timedelta(hours=1)
    votes = [Vote("U0A1", NOW), Vote("U0A1", NOW), Vote(REQUESTER, NOW), Vote("U0A2", expiry)]
    assert counting_approvers(votes, requester_id=REQUESTER, expiry=expiry) == ("U0A1",)


# ------------------------------------------------------------------------------------------- property tests

USERS = (*APPROVERS, REQUESTER, OUTSIDER, ONCALL)
EVENT = st.one_of(
    st.tuples(st.just("approve"), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("deny"), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("remind"), st.just(""), st.just(False)),
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=12 * 3600).map(str), st.just(False)),
)


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(EVENT, max_size=40),
    min_approvers=st.integers(min_value=1, max_value=4),
    interval=st.sampled_from([IntervalType.IMMEDIATELY, IntervalType.FUTURE]),
)
def test_no_order_of_events_approves_without_quorum_or_after_expiry_or_a_denial(
    events: list[tuple[str, str, bool]], min_approvers: int, interval: IntervalType
) -> None:
    policy = parse_policy(POLICY.replace("min_approvers: 2", f"min_approvers: {min_approvers}"))
    eligible = set(APPROVERS)
    rule = policy.approval_rule(MAINTENANCE)
    facts = request(interval=interval, start_time=NOW + timedelta(hours=2), rule=rule, min_approvers=min_approvers)
    assert facts.min_approvers == min_approvers and facts.expires_at is not None
    now = NOW
    denied = False
    for kind, who, force in events:
        if kind == "tick":
            now += timedelta(seconds=int(who))
            continue
        if kind == "remind":
            reminded = to_remind(eligible, facts.approvals, requester_id=REQUESTER)
            assert REQUESTER not in reminded and not set(reminded) & {v.user_id for v in facts.approvals}
            continue
        action = Action.APPROVE if kind == "approve" else Action.DENY
        try:
            decision = decide(facts, action, actor=Actor(who), policy=policy, now=now, force=force)
        except DomainError:
            continue
        # Whoever succeeded may decide: an approver, the requester withdrawing, or on-call after escalation.
        assert who in eligible or who == REQUESTER or (who == ONCALL and is_escalated(facts.rule, NOW, now))
        assert facts.approval_state is ApprovalState.PENDING and not denied
        assert now < facts.expires_at
        if action is Action.DENY:
            denied = True
            facts = replace(facts, approval_state=ApprovalState.DENIED)
            continue
        assert who != REQUESTER and who not in {v.user_id for v in facts.approvals}
        facts = replace(facts, approvals=(*facts.approvals, Vote(who, now)), approval_state=decision.approval_state)
        voters = {v.user_id for v in facts.approvals}
        if decision.approval_state is ApprovalState.APPROVED:
            assert len(voters) >= min_approvers
            assert REQUESTER not in voters and OUTSIDER not in voters
        else:
            assert len(voters) < min_approvers
    if facts.approval_state is ApprovalState.APPROVED:
        assert not denied and len({v.user_id for v in facts.approvals}) >= min_approvers
