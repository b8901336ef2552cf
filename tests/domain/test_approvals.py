"""Tests for bot.domain.approvals: approve, deny and dry-run decisions (Nautobot's JobApprovalTest and
ApprovalQueueTestCase, plus jobgate's deliberate differences)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain.approvals import (
    PAST_DUE_MESSAGE,
    Action,
    ApprovalState,
    Decision,
    RequestFacts,
    already_decided,
    can_act,
    decide,
    is_past_due,
)
from bot.domain.errors import (
    AlreadyDecidedError,
    DomainError,
    ErrorKind,
    InvalidStateError,
    NotRunnableError,
    PastDueError,
    PermissionDeniedError,
)
from bot.domain.permissions import Actor, JobRef, Perm, Policy
from bot.domain.policy_file import parse_policy
from bot.domain.requests import CODE_MISSING_MESSAGE
from bot.domain.schedules import IntervalType
from tests.domain.policies import CALLER_ID, Grant, policy_with

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
REQUESTER = "U0USER1"
CALLER = CALLER_ID
ADMIN = "U0ADMIN"
TEST_PASS = JobRef(slug="test-pass", name="TestPass")
TEST_FAIL = JobRef(slug="test-fail", name="TestFail")

APPROVE_MSG = "You do not have permission to approve this request."
DENY_MSG = "You do not have permission to deny this request."
RUN_MSG = "You do not have permission to run this job."
SELF_MSG = "You cannot approve your own job request!"


def make_request(**overrides: object) -> RequestFacts:
    """Nautobot's JobApprovalTest fixture: "test" for TestPass, immediately, by user1, pending, start=now."""
    base = RequestFacts(
        scheduled_job_id="sj-1",
        name="test",
        requester_id=REQUESTER,
        job=TEST_PASS,
        interval=IntervalType.IMMEDIATELY,
        start_time=NOW,
        approval_state=ApprovalState.PENDING,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


CALLER_ACTOR = Actor(CALLER)
ALL_APPROVE = (Perm.APPROVE_JOB, Perm.VIEW_SCHEDULEDJOB, Perm.CHANGE_SCHEDULEDJOB)
ALL_DENY = (Perm.APPROVE_JOB, Perm.VIEW_SCHEDULEDJOB, Perm.DELETE_SCHEDULEDJOB)
ALL_DRY_RUN = (Perm.RUN_JOB, Perm.VIEW_SCHEDULEDJOB)
EVERYTHING = tuple(Perm)


# --- Nautobot JobApprovalTest --------------------------------------------------------------------------------------


def test_approve_job_anonymous() -> None:
    # Slack always identifies the user; an unknown user holds nothing, as Nautobot's anonymous user.
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=Actor("U0ANON"), policy=Policy.empty(), now=NOW)


def test_approve_job_without_permission() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(Perm.VIEW_JOB), now=NOW)


def test_approve_job_without_approve_job_permission() -> None:
    policy = policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.CHANGE_SCHEDULEDJOB)
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_approve_job_without_change_scheduledjob_permission() -> None:
    policy = policy_with(Perm.APPROVE_JOB, Perm.VIEW_SCHEDULEDJOB)
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_approve_job_same_user() -> None:
    request = make_request(requester_id=CALLER)
    with pytest.raises(PermissionDeniedError, match=f"^{SELF_MSG}$"):
        decide(request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*EVERYTHING), now=NOW)


def test_approve_job() -> None:
    decision = decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*ALL_APPROVE), now=NOW)
    # an approved `immediately` request runs as soon as it is approved (Nautobot 2.4's fix)
    assert decision == Decision(Action.APPROVE, ApprovalState.APPROVED, True, (CALLER,))


def test_approve_job_in_past() -> None:
    request = make_request(interval=IntervalType.FUTURE, start_time=NOW)
    with pytest.raises(PastDueError) as excinfo:
        decide(
            request,
            Action.APPROVE,
            actor=CALLER_ACTOR,
            policy=policy_with(*ALL_APPROVE),
            now=NOW + timedelta(seconds=1),
        )
    assert excinfo.value.message == PAST_DUE_MESSAGE == "The job's start time is in the past."
    # the facts each edge words its own hint from (REST: the `force` parameter; Slack: `--force` or a confirmation)
    assert (excinfo.value.scheduled_job_id, excinfo.value.start_time) == ("sj-1", NOW)
    assert excinfo.value.kind is ErrorKind.NEEDS_CONFIRMATION


def test_approve_job_in_past_force() -> None:
    request = make_request(interval=IntervalType.FUTURE, start_time=NOW)
    decision = decide(
        request,
        Action.APPROVE,
        actor=CALLER_ACTOR,
        policy=policy_with(*ALL_APPROVE),
        now=NOW + timedelta(seconds=1),
        force=True,
    )
    assert decision == Decision(Action.APPROVE, ApprovalState.APPROVED, True, (CALLER,))


def test_deny_job_without_permission() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


def test_deny_job_without_approve_job_permission() -> None:
    policy = policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.DELETE_SCHEDULEDJOB)
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_deny_job_without_delete_scheduledjob_permission() -> None:
    policy = policy_with(Perm.APPROVE_JOB, Perm.VIEW_SCHEDULEDJOB)
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_deny_job() -> None:
    decision = decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=policy_with(*ALL_DENY), now=NOW)
    # jobgate keeps denied requests (state DENIED) rather than deleting them
    assert decision == Decision(Action.DENY, ApprovalState.DENIED, False)


def test_dry_run_job_without_permission() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{RUN_MSG}$"):
        decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


def test_dry_run_job_without_run_job_permission() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{RUN_MSG}$"):
        decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy_with(Perm.VIEW_SCHEDULEDJOB), now=NOW)


def test_dry_run_job() -> None:
    decision = decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy_with(*ALL_DRY_RUN), now=NOW)
    # the request stays pending; the dry run runs at once
    assert decision == Decision(Action.DRY_RUN, ApprovalState.PENDING, True)


# --- Nautobot ApprovalQueueTestCase (decisions) --------------------------------------------------------------------


def test_post_dry_run_not_runnable() -> None:
    request = make_request(not_runnable_reason="This job is not enabled to be run.")
    with pytest.raises(NotRunnableError) as excinfo:
        decide(request, Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy_with(*ALL_DRY_RUN), now=NOW)
    assert excinfo.value.message == "This job cannot be dry-run at this time. This job is not enabled to be run."


def test_post_dry_run_needs_job_run_permission() -> None:
    policy = policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.VIEW_JOB)
    with pytest.raises(PermissionDeniedError, match=f"^{RUN_MSG}$"):
        decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_post_dry_run_needs_specific_job_run_permission() -> None:
    policy = policy_with(Perm.VIEW_SCHEDULEDJOB, (Perm.RUN_JOB, ("test-fail",)))
    with pytest.raises(PermissionDeniedError, match=f"^{RUN_MSG}$"):
        decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_post_dry_run_success_with_constrained_run() -> None:
    policy = policy_with(Perm.VIEW_SCHEDULEDJOB, (Perm.RUN_JOB, ("test-pass",)))
    decision = decide(make_request(), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy, now=NOW)
    assert decision == Decision(Action.DRY_RUN, ApprovalState.PENDING, True)


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param((Perm.VIEW_SCHEDULEDJOB, Perm.DELETE_SCHEDULEDJOB), id="view+delete, no approve"),
        pytest.param((Perm.VIEW_SCHEDULEDJOB, Perm.APPROVE_JOB), id="view+approve, no delete"),
    ],
)
def test_post_deny_different_user_lacking_permissions(grants: tuple[Perm, ...]) -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=policy_with(*grants), now=NOW)


def test_post_deny_different_user_permitted() -> None:
    # Nautobot constrains delete to the scheduled job's pk; jobgate constrains scheduled jobs by the job they run.
    policy = policy_with(
        Perm.VIEW_SCHEDULEDJOB,
        (Perm.DELETE_SCHEDULEDJOB, ("test-pass",)),
        (Perm.APPROVE_JOB, ("TestPass",)),
    )
    decision = decide(make_request(), Action.DENY, actor=CALLER_ACTOR, policy=policy, now=NOW)
    assert decision == Decision(Action.DENY, ApprovalState.DENIED, False)
    other = make_request(scheduled_job_id="sj-2", job=TEST_FAIL)
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(other, Action.DENY, actor=CALLER_ACTOR, policy=policy, now=NOW)


def test_post_approve_cannot_self_approve() -> None:
    policy = policy_with(Perm.CHANGE_SCHEDULEDJOB, Perm.APPROVE_JOB)
    request = make_request(requester_id=CALLER)
    with pytest.raises(PermissionDeniedError, match=f"^{SELF_MSG}$"):
        decide(request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy, now=NOW)


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param((Perm.VIEW_SCHEDULEDJOB, Perm.CHANGE_SCHEDULEDJOB), id="change only"),
        pytest.param((Perm.VIEW_SCHEDULEDJOB, Perm.APPROVE_JOB), id="approve only"),
    ],
)
def test_post_approve_different_user_lacking_permissions(grants: tuple[Perm, ...]) -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*grants), now=NOW)


def test_post_approve_different_user_permitted() -> None:
    policy = policy_with(
        (Perm.VIEW_SCHEDULEDJOB, ("test-pass",)),
        (Perm.CHANGE_SCHEDULEDJOB, ("test-pass",)),
        (Perm.APPROVE_JOB, ("test-pass",)),
    )
    # the fixture's interval is `immediately`, so it is never past-due-checked, even long after its start
    request = make_request(start_time=NOW - timedelta(days=3))
    decision = decide(request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy, now=NOW)
    assert decision == Decision(Action.APPROVE, ApprovalState.APPROVED, True, (CALLER,))
    other = make_request(scheduled_job_id="sj-2", job=TEST_FAIL)
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(other, Action.APPROVE, actor=CALLER_ACTOR, policy=policy, now=NOW)


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param((Perm.CHANGE_SCHEDULEDJOB, (Perm.APPROVE_JOB, ("test-fail",))), id="approve on another job"),
        pytest.param(((Perm.CHANGE_SCHEDULEDJOB, ("test-fail",)), Perm.APPROVE_JOB), id="change on another job"),
        pytest.param(((Perm.CHANGE_SCHEDULEDJOB, ("Test*",)), (Perm.APPROVE_JOB, ("*Fail",))), id="name globs"),
    ],
)
def test_approve_constrained_to_another_job_refused(grants: tuple[Grant, ...]) -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*grants), now=NOW)


# --- admins --------------------------------------------------------------------------------------------------------

ADMIN_POLICY = Policy(admins=[ADMIN])
ADMIN_ACTOR = Actor(ADMIN)


def test_admin_cannot_self_approve() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{SELF_MSG}$"):
        decide(make_request(requester_id=ADMIN), Action.APPROVE, actor=ADMIN_ACTOR, policy=ADMIN_POLICY, now=NOW)
    assert not can_act(
        make_request(requester_id=ADMIN), Action.APPROVE, actor=ADMIN_ACTOR, policy=ADMIN_POLICY, now=NOW
    )


@pytest.mark.parametrize(
    ("request_", "action", "force", "expected"),
    [
        (make_request(), Action.APPROVE, False, Decision(Action.APPROVE, ApprovalState.APPROVED, True, (ADMIN,))),
        (
            make_request(interval=IntervalType.FUTURE, start_time=NOW - timedelta(hours=1)),
            Action.APPROVE,
            True,
            Decision(Action.APPROVE, ApprovalState.APPROVED, True, (ADMIN,)),
        ),
        (make_request(), Action.DENY, False, Decision(Action.DENY, ApprovalState.DENIED, False)),
        (make_request(), Action.DRY_RUN, False, Decision(Action.DRY_RUN, ApprovalState.PENDING, True)),
        # an admin may withdraw or dry-run their own request, only not approve it
        (make_request(requester_id=ADMIN), Action.DENY, False, Decision(Action.DENY, ApprovalState.DENIED, False)),
        (
            make_request(requester_id=ADMIN),
            Action.DRY_RUN,
            False,
            Decision(Action.DRY_RUN, ApprovalState.PENDING, True),
        ),
    ],
)
def test_admin_can_do_everything_else(request_: RequestFacts, action: Action, force: bool, expected: Decision) -> None:
    assert decide(request_, action, actor=ADMIN_ACTOR, policy=ADMIN_POLICY, now=NOW, force=force) == expected


def test_admin_still_needs_force_for_past_due() -> None:
    request = make_request(interval=IntervalType.FUTURE, start_time=NOW - timedelta(hours=1))
    with pytest.raises(PastDueError):
        decide(request, Action.APPROVE, actor=ADMIN_ACTOR, policy=ADMIN_POLICY, now=NOW)


# --- the requester withdraws ---------------------------------------------------------------------------------------


def test_requester_may_withdraw_without_any_permission() -> None:
    request = make_request(requester_id=CALLER)
    decision = decide(request, Action.DENY, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)
    assert decision == Decision(Action.DENY, ApprovalState.DENIED, False)


def test_requester_cannot_withdraw_a_decided_request() -> None:
    request = make_request(
        requester_id=CALLER, approval_state=ApprovalState.APPROVED, decided_by_id="U0BOSS", decided_at=NOW
    )
    with pytest.raises(AlreadyDecidedError, match=r"already approved by U0BOSS"):
        decide(request, Action.DENY, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


def test_requester_needs_permissions_to_dry_run() -> None:
    with pytest.raises(PermissionDeniedError, match=f"^{RUN_MSG}$"):
        decide(make_request(requester_id=CALLER), Action.DRY_RUN, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


def test_a_gone_requester_is_nobody() -> None:
    # requester_id None (the user was removed): approvers may decide; nobody counts as the requester
    request = make_request(requester_id=None)
    assert decide(request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*ALL_APPROVE), now=NOW).action == (
        Action.APPROVE
    )
    with pytest.raises(PermissionDeniedError, match=f"^{DENY_MSG}$"):
        decide(request, Action.DENY, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


# --- a decision is made once ---------------------------------------------------------------------------------------

DECIDED_AT = datetime(2030, 1, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ApprovalState.APPROVED, "This request was already approved by U0BOSS at 2030-01-01 08:30 UTC."),
        (ApprovalState.DENIED, "This request was already denied by U0BOSS at 2030-01-01 08:30 UTC."),
        (ApprovalState.NOT_REQUIRED, "This request does not need approval."),
    ],
)
@pytest.mark.parametrize("action", [Action.APPROVE, Action.DENY])
def test_second_decision_is_refused_naming_the_decider(state: ApprovalState, expected: str, action: Action) -> None:
    request = make_request(approval_state=state, decided_by_id="U0BOSS", decided_at=DECIDED_AT)
    policy = policy_with(*EVERYTHING)
    with pytest.raises(AlreadyDecidedError) as excinfo:
        decide(request, action, actor=CALLER_ACTOR, policy=policy, now=NOW)
    assert excinfo.value.message == expected
    assert excinfo.value.kind is ErrorKind.CONFLICT
    assert (excinfo.value.approval_state, excinfo.value.decided_by_id, excinfo.value.decided_at) == (
        state,
        "U0BOSS",
        DECIDED_AT,
    )


@pytest.mark.parametrize(
    ("decided_by_id", "decided_at", "expected"),
    [
        (
            "U0BOSS",
            datetime(2030, 1, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))),
            " by U0BOSS at 2030-01-01 08:30 UTC.",
        ),
        ("U0BOSS", datetime(2030, 1, 1, 8, 30), " by U0BOSS at 2030-01-01 08:30 UTC."),  # naive = UTC
        ("U0BOSS", None, " by U0BOSS."),
        (None, DECIDED_AT, " at 2030-01-01 08:30 UTC."),
        (None, None, "."),
    ],
)
def test_already_decided_variants(decided_by_id: str | None, decided_at: datetime | None, expected: str) -> None:
    request = make_request(approval_state=ApprovalState.APPROVED, decided_by_id=decided_by_id, decided_at=decided_at)
    assert already_decided(request).message == "This request was already approved" + expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ApprovalState.APPROVED, "This request was already approved by <@U0BOSS> at 2030-01-01 08:30 UTC."),
        (ApprovalState.DENIED, "This request was already denied by <@U0BOSS> at 2030-01-01 08:30 UTC."),
        (ApprovalState.NOT_REQUIRED, "This request does not need approval."),
        (ApprovalState.PENDING, "This request has not been decided yet."),
    ],
)
def test_already_decided_is_worded_by_each_edge(state: ApprovalState, expected: str) -> None:
    """The domain keeps the facts; an edge names the decider its own way (Slack: a mention)."""
    error = already_decided(make_request(approval_state=state, decided_by_id="U0BOSS", decided_at=DECIDED_AT))
    assert error.describe(user=lambda user_id: f"<@{user_id}>") == expected
    assert error.describe() == error.message == expected.replace("<@U0BOSS>", "U0BOSS")


def test_approve_racing_deny_is_refused() -> None:
    denied = make_request(approval_state=ApprovalState.DENIED, decided_by_id="U0OTHER", decided_at=DECIDED_AT)
    with pytest.raises(AlreadyDecidedError, match=r"^This request was already denied by U0OTHER at "):
        decide(denied, Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*ALL_APPROVE), now=NOW)


# --- state --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [Action.APPROVE, Action.DENY])
def test_cancelled_request_cannot_be_decided(action: Action) -> None:
    request = make_request(enabled=False)
    with pytest.raises(InvalidStateError, match="cancelled"):
        decide(request, action, actor=CALLER_ACTOR, policy=policy_with(*EVERYTHING), now=NOW)


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (make_request(approval_state=ApprovalState.DENIED), "denied"),
        (make_request(enabled=False), "cancelled or has finished"),
        (make_request(approval_state=ApprovalState.APPROVED, enabled=False), "cancelled or has finished"),
    ],
)
def test_dry_run_refused_when_denied_or_inactive(request_: RequestFacts, match: str) -> None:
    with pytest.raises(InvalidStateError, match=match):
        decide(request_, Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy_with(*ALL_DRY_RUN), now=NOW)


@pytest.mark.parametrize("state", [ApprovalState.APPROVED, ApprovalState.NOT_REQUIRED])
def test_dry_run_of_a_running_schedule_keeps_its_state(state: ApprovalState) -> None:
    decision = decide(
        make_request(approval_state=state),
        Action.DRY_RUN,
        actor=CALLER_ACTOR,
        policy=policy_with(*ALL_DRY_RUN),
        now=NOW,
    )
    assert decision == Decision(Action.DRY_RUN, state, True)


def test_approve_refused_when_job_not_runnable() -> None:
    reason = CODE_MISSING_MESSAGE
    request = make_request(not_runnable_reason=reason)
    with pytest.raises(NotRunnableError) as excinfo:
        decide(request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*ALL_APPROVE), now=NOW)
    assert excinfo.value.message == reason


def test_deny_allowed_when_job_not_runnable() -> None:
    request = make_request(not_runnable_reason="This job is not enabled to be run.")
    decision = decide(request, Action.DENY, actor=CALLER_ACTOR, policy=policy_with(*ALL_DENY), now=NOW)
    assert decision.approval_state == ApprovalState.DENIED


# --- past due --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "start_time", "expected"),
    [
        (IntervalType.FUTURE, NOW - timedelta(seconds=1), True),
        (IntervalType.FUTURE, NOW - timedelta(days=30), True),
        (IntervalType.FUTURE, NOW, False),
        (IntervalType.FUTURE, NOW + timedelta(minutes=5), False),
        # `immediately` is never past due (jobgate differs from Nautobot on purpose)
        (IntervalType.IMMEDIATELY, NOW - timedelta(days=30), False),
        (IntervalType.IMMEDIATELY, NOW - timedelta(seconds=1), False),
        # recurring schedules are never past-due-checked
        (IntervalType.HOURLY, NOW - timedelta(days=1), False),
        (IntervalType.DAILY, NOW - timedelta(days=1), False),
        (IntervalType.WEEKLY, NOW - timedelta(days=1), False),
        (IntervalType.CUSTOM, NOW - timedelta(days=1), False),
    ],
)
def test_is_past_due(interval: IntervalType, start_time: datetime, expected: bool) -> None:
    assert is_past_due(make_request(interval=interval, start_time=start_time), NOW) is expected


@pytest.mark.parametrize(
    ("interval", "start_time", "force", "runs_at_once"),
    [
        (IntervalType.IMMEDIATELY, NOW - timedelta(days=1), False, True),
        (IntervalType.IMMEDIATELY, NOW - timedelta(days=1), True, True),
        (IntervalType.FUTURE, NOW - timedelta(hours=1), True, True),  # forced past-due: runs at once
        (IntervalType.FUTURE, NOW + timedelta(hours=1), False, False),  # runs at its start time
        (IntervalType.FUTURE, NOW + timedelta(hours=1), True, False),  # force changes nothing when not past due
        (IntervalType.DAILY, NOW - timedelta(days=1), False, False),
        (IntervalType.CUSTOM, NOW + timedelta(days=1), False, False),
    ],
)
def test_approve_runs_at_once(interval: IntervalType, start_time: datetime, force: bool, runs_at_once: bool) -> None:
    request = make_request(interval=interval, start_time=start_time)
    decision = decide(
        request, Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*ALL_APPROVE), now=NOW, force=force
    )
    assert decision == Decision(Action.APPROVE, ApprovalState.APPROVED, runs_at_once, (CALLER,))


# --- order of the checks -------------------------------------------------------------------------------------------

PAST = {"interval": IntervalType.FUTURE, "start_time": NOW - timedelta(hours=1)}


@pytest.mark.parametrize(
    ("overrides", "grants", "expected"),
    [
        # permission before state
        (
            {"approval_state": ApprovalState.APPROVED, "requester_id": CALLER, **PAST},
            (Perm.APPROVE_JOB,),
            PermissionDeniedError,
        ),
        # already decided before cancelled, self and past due
        (
            {"approval_state": ApprovalState.APPROVED, "enabled": False, "requester_id": CALLER, **PAST},
            ALL_APPROVE,
            AlreadyDecidedError,
        ),
        # cancelled before self
        ({"enabled": False, "requester_id": CALLER}, ALL_APPROVE, InvalidStateError),
        # self before past due and not runnable
        ({"requester_id": CALLER, "not_runnable_reason": "x", **PAST}, ALL_APPROVE, PermissionDeniedError),
        # past due before not runnable
        ({"not_runnable_reason": "x", **PAST}, ALL_APPROVE, PastDueError),
        ({"not_runnable_reason": "x"}, ALL_APPROVE, NotRunnableError),
    ],
)
def test_approve_check_order(
    overrides: dict[str, object], grants: tuple[Perm, ...], expected: type[DomainError]
) -> None:
    with pytest.raises(expected):
        decide(make_request(**overrides), Action.APPROVE, actor=CALLER_ACTOR, policy=policy_with(*grants), now=NOW)


@pytest.mark.parametrize(
    ("overrides", "grants", "expected"),
    [
        # view_scheduledjob before runnable
        ({"not_runnable_reason": "x"}, (Perm.RUN_JOB,), PermissionDeniedError),
        # runnable before run_job
        ({"not_runnable_reason": "x"}, (Perm.VIEW_SCHEDULEDJOB,), NotRunnableError),
        # run_job before state
        ({"approval_state": ApprovalState.DENIED}, (Perm.VIEW_SCHEDULEDJOB,), PermissionDeniedError),
    ],
)
def test_dry_run_check_order(
    overrides: dict[str, object], grants: tuple[Perm, ...], expected: type[DomainError]
) -> None:
    with pytest.raises(expected):
        decide(make_request(**overrides), Action.DRY_RUN, actor=CALLER_ACTOR, policy=policy_with(*grants), now=NOW)


def test_deny_permission_before_state() -> None:
    request = make_request(approval_state=ApprovalState.APPROVED)
    with pytest.raises(PermissionDeniedError):
        decide(request, Action.DENY, actor=CALLER_ACTOR, policy=Policy.empty(), now=NOW)


# --- can_act and permissions through usergroups ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "action", "actor", "expected"),
    [
        (make_request(), Action.APPROVE, CALLER_ACTOR, True),
        (make_request(**PAST), Action.APPROVE, CALLER_ACTOR, True),  # the button leads to confirmation
        (make_request(requester_id=CALLER), Action.APPROVE, CALLER_ACTOR, False),
        (make_request(requester_id=CALLER), Action.DENY, CALLER_ACTOR, True),
        (make_request(), Action.DENY, CALLER_ACTOR, False),  # approve+change but no delete
        (make_request(), Action.DRY_RUN, CALLER_ACTOR, False),  # no run_job
        (make_request(approval_state=ApprovalState.APPROVED), Action.APPROVE, CALLER_ACTOR, False),
        (make_request(), Action.APPROVE, Actor("U0OTHER"), False),
    ],
)
def test_can_act(request_: RequestFacts, action: Action, actor: Actor, expected: bool) -> None:
    assert can_act(request_, action, actor=actor, policy=policy_with(*ALL_APPROVE), now=NOW) is expected


def test_decide_with_a_policy_file_and_usergroups() -> None:
    policy = parse_policy(
        """
groups:
  approvers: ["@net-approvers"]
permissions:
  - {name: approvers, actions: [approve], object_types: [extras.job], groups: [approvers], jobs: ["test-*"]}
  - {name: schedules, actions: [view, change, delete], object_types: [extras.scheduledjob], groups: [approvers]}
"""
    )
    member = Actor("U0MEMBER", frozenset({"net-approvers"}))
    assert decide(make_request(), Action.APPROVE, actor=member, policy=policy, now=NOW).approval_state == (
        ApprovalState.APPROVED
    )
    assert decide(make_request(), Action.DENY, actor=member, policy=policy, now=NOW).approval_state == (
        ApprovalState.DENIED
    )
    other_job = make_request(job=JobRef("backup", "Backup"))
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(other_job, Action.APPROVE, actor=member, policy=policy, now=NOW)
    with pytest.raises(PermissionDeniedError, match=f"^{APPROVE_MSG}$"):
        decide(make_request(), Action.APPROVE, actor=Actor("U0MEMBER"), policy=policy, now=NOW)


def test_enum_values() -> None:
    assert [s.value for s in ApprovalState] == ["pending", "approved", "denied", "not_required", "expired"]
    assert [a.value for a in Action] == ["approve", "deny", "dry_run"]
