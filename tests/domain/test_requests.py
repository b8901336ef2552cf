"""Tests for bot.domain.requests: run requests in Nautobot's order, and managing scheduled jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.approvals import ApprovalState, RequestFacts
from bot.domain.errors import (
    DomainError,
    ErrorKind,
    FieldErrors,
    InvalidScheduleError,
    InvalidStateError,
    JobDisabledError,
    NotFoundError,
    NotRunnableError,
    PermissionDeniedError,
)
from bot.domain.management import ManageAction, permitted_actions
from bot.domain.permissions import Actor, JobRef, Perm, Policy
from bot.domain.requests import (
    CANCELLED_BEFORE_RUN_MESSAGE,
    CODE_MISSING_MESSAGE,
    JOB_GONE_MESSAGE,
    SENSITIVE_AND_APPROVAL_MESSAGE,
    SENSITIVE_DATA_GONE_MESSAGE,
    JobFacts,
    RunPlan,
    check_cancel,
    check_pause,
    check_resume,
    check_run_request,
    check_view,
    may_view,
    not_runnable_reason,
    run_refusal_reason,
)
from bot.domain.schedules import IntervalType
from tests.domain.policies import CALLER_ID, policy_with

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
CALLER = Actor(CALLER_ID)
REQUESTER = Actor("U0REQ")
BACKUP = JobRef(slug="backup", name="Backup configs")
OTHER = JobRef(slug="other", name="Other job")

Check = Callable[[RequestFacts, Actor, Policy], None]
SENSITIVE_SCHEDULE = "Unable to schedule job: Job may have sensitive input variables"


def make_job(**overrides: object) -> JobFacts:
    base = JobFacts(job=BACKUP, enabled=True, installed=True, approval_required=False, has_sensitive_variables=False)
    return replace(base, **overrides)  # type: ignore[arg-type]


def make_request(**overrides: object) -> RequestFacts:
    base = RequestFacts(
        scheduled_job_id="sj-1",
        name="nightly backup",
        requester_id=REQUESTER.user_id,
        job=BACKUP,
        interval=IntervalType.DAILY,
        start_time=NOW,
        approval_state=ApprovalState.APPROVED,
        decided_by_id="U0BOSS",
        decided_at=NOW,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# --- not_runnable_reason -------------------------------------------------------------------------------------------


def test_sensitive_and_approval_message_is_nautobots_with_its_space_and_the_fix() -> None:
    assert SENSITIVE_AND_APPROVAL_MESSAGE == (
        "Unable to run or schedule job: This job is flagged as possibly having sensitive variables but is also "
        "flagged as requiring approval. One of these two flags must be removed before this job can be scheduled or "
        "run: set has_sensitive_variables = False in the job's Meta (when its variables hold no secrets), or "
        "approval_required = False."
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, None),
        ({"has_sensitive_variables": True}, None),
        ({"approval_required": True}, None),
        ({"enabled": False}, "This job is not enabled to be run."),
        ({"installed": False}, "This job is not presently installed and cannot be run"),
        ({"code_present": False}, CODE_MISSING_MESSAGE),
        ({"has_sensitive_variables": True, "approval_required": True}, SENSITIVE_AND_APPROVAL_MESSAGE),
        # Nautobot's order: enabled, installed, sensitive+approval, code
        ({"enabled": False, "installed": False, "code_present": False}, "This job is not enabled to be run."),
        ({"installed": False, "code_present": False}, "This job is not presently installed and cannot be run"),
        (
            {"has_sensitive_variables": True, "approval_required": True, "code_present": False},
            SENSITIVE_AND_APPROVAL_MESSAGE,
        ),
    ],
)
def test_not_runnable_reason(overrides: dict[str, object], expected: str | None) -> None:
    assert not_runnable_reason(make_job(**overrides)) == expected


def test_a_deleted_job_is_not_runnable() -> None:
    assert not_runnable_reason(None) == JOB_GONE_MESSAGE == "The job no longer exists."


# --- run_refusal_reason: the same rules at run time -----------------------------------------------------------------

DISABLED = "This job is not enabled to be run."
NOT_INSTALLED = "This job is not presently installed and cannot be run"
CODE_MISSING = CODE_MISSING_MESSAGE


def _at_run_time(
    job: JobFacts | None,
    *,
    cancelled: bool = False,
    dry_run: bool = False,
    data_present: bool = True,
) -> str | None:
    return run_refusal_reason(job, scheduled_job_cancelled=cancelled, dry_run=dry_run,
                              sensitive_data_present=data_present)


@pytest.mark.parametrize(
    ("job", "kwargs", "expected"),
    [
        (make_job(), {}, None),
        (None, {}, JOB_GONE_MESSAGE),
        (make_job(enabled=False), {}, DISABLED),
        (make_job(installed=False), {}, NOT_INSTALLED),
        (make_job(has_sensitive_variables=True, approval_required=True), {}, SENSITIVE_AND_APPROVAL_MESSAGE),
        (make_job(code_present=False), {}, CODE_MISSING),
        (make_job(), {"cancelled": True}, CANCELLED_BEFORE_RUN_MESSAGE),
        (make_job(), {"cancelled": True, "dry_run": True}, None),  # a dry run of a cancelled request still runs
        (make_job(has_sensitive_variables=True), {"data_present": False}, SENSITIVE_DATA_GONE_MESSAGE),
        (make_job(has_sensitive_variables=True), {}, None),
        (make_job(), {"data_present": False}, None),  # the data of other jobs is stored: never "gone"
        (make_job(has_sensitive_variables=True), {"data_present": False, "dry_run": True},
         SENSITIVE_DATA_GONE_MESSAGE),
    ],
)
def test_run_refusal_reason_each_case(job: JobFacts | None, kwargs: dict[str, bool], expected: str | None) -> None:
    assert _at_run_time(job, **kwargs) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"enabled": False},
        {"installed": False},
        {"code_present": False},
        {"has_sensitive_variables": True, "approval_required": True},
        {"enabled": False, "installed": False, "code_present": False},
        {"installed": False, "has_sensitive_variables": True, "approval_required": True},
    ],
)
def test_run_time_starts_with_what_a_request_gets(overrides: dict[str, object]) -> None:
    """The job's own reasons come first, in the request's order and words, whatever else is wrong with the run."""
    job = make_job(**overrides)
    assert _at_run_time(job) == not_runnable_reason(job)
    everything_wrong = _at_run_time(job, cancelled=True, data_present=False)
    assert everything_wrong == (not_runnable_reason(job) or CANCELLED_BEFORE_RUN_MESSAGE)


def test_run_refusal_reason_full_order() -> None:
    """Start with every fault at once; fixing them one by one reveals the next."""
    job: JobFacts | None = None
    faults = {"cancelled": True, "data_present": False}
    assert _at_run_time(job, **faults) == JOB_GONE_MESSAGE
    job = make_job(enabled=False, installed=False, has_sensitive_variables=True, approval_required=True,
                   code_present=False)
    assert _at_run_time(job, **faults) == DISABLED
    job = replace(job, enabled=True)
    assert _at_run_time(job, **faults) == NOT_INSTALLED
    job = replace(job, installed=True)
    assert _at_run_time(job, **faults) == SENSITIVE_AND_APPROVAL_MESSAGE
    job = replace(job, approval_required=False)
    assert _at_run_time(job, **faults) == CODE_MISSING
    job = replace(job, code_present=True)
    assert _at_run_time(job, **faults) == CANCELLED_BEFORE_RUN_MESSAGE
    faults["cancelled"] = False
    assert _at_run_time(job, **faults) == SENSITIVE_DATA_GONE_MESSAGE
    faults["data_present"] = True
    assert _at_run_time(job, **faults) is None


# --- check_run_request: Nautobot's order (§2a) ---------------------------------------------------------------------


def _run_error(job: JobFacts, policy: Policy, interval: IntervalType | None) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        check_run_request(job, actor=CALLER, policy=policy, interval=interval, dry_run=False)
    return excinfo.value


def test_run_request_full_order() -> None:
    """Start with every fault at once; fixing them one by one reveals the next, in Nautobot's order."""
    job = make_job(
        enabled=False, installed=False, has_sensitive_variables=True, approval_required=True, code_present=False
    )
    interval: IntervalType | None = IntervalType.FUTURE

    # 1. no model-level run_job
    error = _run_error(job, policy_with(Perm.VIEW_JOB), interval)
    assert (type(error), error.message, error.kind) == (
        PermissionDeniedError,
        "This user does not have permission to run jobs.",
        ErrorKind.FORBIDDEN,
    )
    # 2. run_job constrained to other jobs: the job is "not found"
    error = _run_error(job, policy_with((Perm.RUN_JOB, ("other",))), interval)
    assert (type(error), error.message, error.kind) == (NotFoundError, "Job not found.", ErrorKind.NOT_FOUND)
    policy = policy_with((Perm.RUN_JOB, ("back*",)))
    # 3. not enabled
    error = _run_error(job, policy, interval)
    assert (type(error), error.message, error.kind) == (
        JobDisabledError,
        "This job is not enabled to be run.",
        ErrorKind.JOB_DISABLED,
    )
    job = replace(job, enabled=True)
    # 4. not installed
    error = _run_error(job, policy, interval)
    assert (type(error), error.message, error.kind) == (
        NotRunnableError,
        "This job is not presently installed and cannot be run",
        ErrorKind.NOT_RUNNABLE,
    )
    job = replace(job, installed=True)
    # 5. sensitive and scheduled
    error = _run_error(job, policy, interval)
    assert isinstance(error, InvalidScheduleError)
    assert error.errors == {"interval": [SENSITIVE_SCHEDULE]}
    assert error.kind is ErrorKind.INVALID_INPUT
    interval = IntervalType.IMMEDIATELY
    # 6. sensitive and approval-required (any interval)
    error = _run_error(job, policy, interval)
    assert type(error) is FieldErrors
    assert error.errors == [SENSITIVE_AND_APPROVAL_MESSAGE]
    assert error.kind is ErrorKind.INVALID_INPUT
    job = replace(job, approval_required=False)
    # 7. source code missing
    error = _run_error(job, policy, interval)
    assert (type(error), error.message, error.kind) == (
        NotRunnableError,
        CODE_MISSING_MESSAGE,
        ErrorKind.NOT_RUNNABLE,
    )
    job = replace(job, code_present=True)
    # and then it runs
    plan = check_run_request(job, actor=CALLER, policy=policy, interval=interval, dry_run=False)
    assert plan == RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True)


@pytest.mark.parametrize(
    ("overrides", "interval", "expected"),
    [
        ({"enabled": False}, None, JobDisabledError),
        ({"installed": False}, None, NotRunnableError),
        ({"has_sensitive_variables": True}, IntervalType.HOURLY, InvalidScheduleError),
        ({"has_sensitive_variables": True}, IntervalType.CUSTOM, InvalidScheduleError),
        ({"has_sensitive_variables": True, "approval_required": True}, None, FieldErrors),
        ({"has_sensitive_variables": True, "approval_required": True}, IntervalType.IMMEDIATELY, FieldErrors),
        # the schedule error comes first
        ({"has_sensitive_variables": True, "approval_required": True}, IntervalType.DAILY, InvalidScheduleError),
        ({"code_present": False}, IntervalType.WEEKLY, NotRunnableError),
    ],
)
def test_run_request_refusals(
    overrides: dict[str, object], interval: IntervalType | None, expected: type[DomainError]
) -> None:
    with pytest.raises(expected):
        check_run_request(
            make_job(**overrides), actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=interval, dry_run=False
        )


@pytest.mark.parametrize(
    ("approval_required", "interval", "expected"),
    [
        (False, None, RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True)),
        (
            False,
            IntervalType.IMMEDIATELY,
            RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True),
        ),
        (False, IntervalType.FUTURE, RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)),
        (False, IntervalType.HOURLY, RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)),
        (False, IntervalType.DAILY, RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)),
        (False, IntervalType.WEEKLY, RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)),
        (False, IntervalType.CUSTOM, RunPlan(needs_approval=False, creates_scheduled_job=True, runs_at_once=False)),
        # approval-required: always a scheduled job awaiting approval, also for "now"
        (True, None, RunPlan(needs_approval=True, creates_scheduled_job=True, runs_at_once=False)),
        (True, IntervalType.IMMEDIATELY, RunPlan(needs_approval=True, creates_scheduled_job=True, runs_at_once=False)),
        (True, IntervalType.FUTURE, RunPlan(needs_approval=True, creates_scheduled_job=True, runs_at_once=False)),
        (True, IntervalType.CUSTOM, RunPlan(needs_approval=True, creates_scheduled_job=True, runs_at_once=False)),
    ],
)
def test_run_plan(approval_required: bool, interval: IntervalType | None, expected: RunPlan) -> None:
    job = make_job(approval_required=approval_required)
    assert check_run_request(job, actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=interval, dry_run=False) == (
        expected
    )


@pytest.mark.parametrize("approval_required", [False, True])
@pytest.mark.parametrize("interval", [None, IntervalType.IMMEDIATELY])
def test_dry_run_never_needs_approval(approval_required: bool, interval: IntervalType | None) -> None:
    job = make_job(approval_required=approval_required)
    plan = check_run_request(job, actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=interval, dry_run=True)
    assert plan == RunPlan(needs_approval=False, creates_scheduled_job=False, runs_at_once=True)


@pytest.mark.parametrize(
    "interval",
    [IntervalType.FUTURE, IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY, IntervalType.CUSTOM],
)
def test_dry_run_cannot_be_scheduled(interval: IntervalType) -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        check_run_request(make_job(), actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=interval, dry_run=True)
    assert excinfo.value.errors == {"interval": ["A dry run runs at once; it cannot be scheduled."]}


def test_sensitive_job_dry_run_scheduled_reports_sensitivity_first() -> None:
    job = make_job(has_sensitive_variables=True)
    with pytest.raises(InvalidScheduleError) as excinfo:
        check_run_request(
            job, actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=IntervalType.FUTURE, dry_run=True
        )
    assert excinfo.value.errors == {"interval": [SENSITIVE_SCHEDULE]}


def test_dry_run_still_checks_permissions_and_runnability() -> None:
    with pytest.raises(PermissionDeniedError):
        check_run_request(make_job(), actor=CALLER, policy=Policy.empty(), interval=None, dry_run=True)
    with pytest.raises(JobDisabledError):
        check_run_request(
            make_job(enabled=False), actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=None, dry_run=True
        )


def test_sensitive_job_runs_immediately() -> None:
    job = make_job(has_sensitive_variables=True)
    for interval in (None, IntervalType.IMMEDIATELY):
        plan = check_run_request(job, actor=CALLER, policy=policy_with(Perm.RUN_JOB), interval=interval, dry_run=False)
        assert plan.runs_at_once and not plan.creates_scheduled_job


def test_run_request_by_name_glob_and_admin() -> None:
    by_name = policy_with((Perm.RUN_JOB, ("Backup *",)))
    assert check_run_request(make_job(), actor=CALLER, policy=by_name, interval=None, dry_run=False).runs_at_once
    admin = Policy(admins=[CALLER.user_id])
    assert check_run_request(make_job(), actor=CALLER, policy=admin, interval=None, dry_run=False).runs_at_once


# --- cancel / pause / resume ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "perm", "verb"),
    [
        (lambda r, a, p: check_cancel(r, actor=a, policy=p), Perm.DELETE_SCHEDULEDJOB, "cancel"),
        (lambda r, a, p: check_pause(r, actor=a, policy=p, paused=False), Perm.CHANGE_SCHEDULEDJOB, "pause"),
        (lambda r, a, p: check_resume(r, actor=a, policy=p, paused=True), Perm.CHANGE_SCHEDULEDJOB, "resume"),
    ],
    ids=["cancel", "pause", "resume"],
)
class TestManagePermissions:
    def test_requester_may_always(self, check: Check, perm: Perm, verb: str) -> None:
        check(make_request(), REQUESTER, Policy.empty())

    def test_other_user_needs_the_permission(self, check: Check, perm: Perm, verb: str) -> None:
        with pytest.raises(PermissionDeniedError, match=f"^You do not have permission to {verb} this scheduled job.$"):
            check(make_request(), CALLER, policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.RUN_JOB))
        check(make_request(), CALLER, policy_with(perm))

    def test_permission_constrained_to_another_job(self, check: Check, perm: Perm, verb: str) -> None:
        with pytest.raises(PermissionDeniedError):
            check(make_request(), CALLER, policy_with((perm, ("other",))))
        check(make_request(), CALLER, policy_with((perm, ("backup",))))

    def test_admin_may(self, check: Check, perm: Perm, verb: str) -> None:
        check(make_request(), CALLER, Policy(admins=[CALLER.user_id]))

    def test_permission_before_state(self, check: Check, perm: Perm, verb: str) -> None:
        with pytest.raises(PermissionDeniedError):
            check(make_request(enabled=False), CALLER, Policy.empty())

    @pytest.mark.parametrize(
        "overrides", [{"enabled": False}, {"approval_state": ApprovalState.DENIED}], ids=["inactive", "denied"]
    )
    def test_ended(self, check: Check, perm: Perm, verb: str, overrides: dict[str, object]) -> None:
        with pytest.raises(InvalidStateError, match=r"^This scheduled job has already ended\.$"):
            check(make_request(**overrides), REQUESTER, Policy.empty())


@pytest.mark.parametrize(
    ("actor", "policy", "paused", "expected"),
    [
        (REQUESTER, Policy.empty(), False, (ManageAction.PAUSE, ManageAction.CANCEL)),
        (REQUESTER, Policy.empty(), True, (ManageAction.RESUME, ManageAction.CANCEL)),
        (CALLER, policy_with(Perm.VIEW_SCHEDULEDJOB), False, ()),
        (CALLER, policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.CHANGE_SCHEDULEDJOB), True, (ManageAction.RESUME,)),
        (CALLER, policy_with(Perm.VIEW_SCHEDULEDJOB, Perm.DELETE_SCHEDULEDJOB), False, (ManageAction.CANCEL,)),
        (CALLER, policy_with((Perm.CHANGE_SCHEDULEDJOB, ("other",))), False, ()),
    ],
    ids=["requester", "requester-paused", "viewer", "may-change", "may-delete", "other-job-only"],
)
def test_a_menu_offers_what_the_checks_permit(actor: Actor, policy: Policy, paused: bool,
                                              expected: tuple[ManageAction, ...]) -> None:
    assert permitted_actions(make_request(), actor=actor, policy=policy, paused=paused) == expected


def test_a_menu_offers_nothing_on_an_ended_job_nor_to_cancel_a_pending_request_without_approve() -> None:
    assert permitted_actions(make_request(enabled=False), actor=REQUESTER, policy=Policy.empty(), paused=False) == ()
    pending = make_request(approval_state=ApprovalState.PENDING, interval=IntervalType.FUTURE)
    assert permitted_actions(pending, actor=CALLER, policy=policy_with(Perm.DELETE_SCHEDULEDJOB), paused=False) == ()


@pytest.mark.parametrize("state", [ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.NOT_REQUIRED])
@pytest.mark.parametrize("interval", list(IntervalType))
def test_cancel_any_live_scheduled_job(state: ApprovalState, interval: IntervalType) -> None:
    check_cancel(make_request(approval_state=state, interval=interval), actor=REQUESTER, policy=Policy.empty())


@pytest.mark.parametrize(
    ("interval", "paused", "error"),
    [
        (IntervalType.HOURLY, False, None),
        (IntervalType.DAILY, False, None),
        (IntervalType.WEEKLY, False, None),
        (IntervalType.CUSTOM, False, None),
        (IntervalType.DAILY, True, "This scheduled job is already paused."),
        (IntervalType.IMMEDIATELY, False, "Only recurring scheduled jobs can be paused."),
        (IntervalType.FUTURE, False, "Only recurring scheduled jobs can be paused."),
    ],
)
def test_pause(interval: IntervalType, paused: bool, error: str | None) -> None:
    request = make_request(interval=interval)
    policy = policy_with(Perm.CHANGE_SCHEDULEDJOB)
    if error is None:
        check_pause(request, actor=CALLER, policy=policy, paused=paused)
    else:
        with pytest.raises(InvalidStateError, match=f"^{error}$"):
            check_pause(request, actor=CALLER, policy=policy, paused=paused)


@pytest.mark.parametrize(
    ("paused", "error"),
    [(True, None), (False, "This scheduled job is not paused.")],
)
def test_resume(paused: bool, error: str | None) -> None:
    policy = policy_with(Perm.CHANGE_SCHEDULEDJOB)
    if error is None:
        check_resume(make_request(), actor=CALLER, policy=policy, paused=paused)
    else:
        with pytest.raises(InvalidStateError, match=f"^{error}$"):
            check_resume(make_request(), actor=CALLER, policy=policy, paused=paused)


def test_pause_a_pending_recurring_request() -> None:
    check_pause(
        make_request(approval_state=ApprovalState.PENDING), actor=REQUESTER, policy=Policy.empty(), paused=False
    )


def test_a_gone_requester_is_nobody() -> None:
    with pytest.raises(PermissionDeniedError):
        check_cancel(make_request(requester_id=None), actor=CALLER, policy=Policy.empty())


# --- check_view ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("perm", "message"),
    [
        (Perm.VIEW_JOB, "Job not found."),
        (Perm.VIEW_SCHEDULEDJOB, "Scheduled job not found."),
        (Perm.VIEW_JOBRESULT, "Job result not found."),
    ],
)
def test_check_view(perm: Perm, message: str) -> None:
    # unconstrained: visible
    check_view(BACKUP, actor=CALLER, policy=policy_with(perm), perm=perm)
    # constrained to this job: visible; to another: not found
    constrained = policy_with((perm, ("backup",)))
    check_view(BACKUP, actor=CALLER, policy=constrained, perm=perm)
    with pytest.raises(NotFoundError, match=f"^{message}$") as excinfo:
        check_view(OTHER, actor=CALLER, policy=constrained, perm=perm)
    assert excinfo.value.kind is ErrorKind.NOT_FOUND
    # no permission at all: not found either
    with pytest.raises(NotFoundError, match=f"^{message}$"):
        check_view(BACKUP, actor=CALLER, policy=Policy.empty(), perm=perm)
    # admins see everything
    check_view(OTHER, actor=CALLER, policy=Policy(admins=[CALLER.user_id]), perm=perm)


@pytest.mark.parametrize("perm", [Perm.VIEW_SCHEDULEDJOB, Perm.VIEW_JOBRESULT])
def test_its_user_always_sees_their_own_request_or_run(perm: Perm) -> None:
    assert may_view(BACKUP, actor=CALLER, policy=Policy.empty(), perm=perm, user_id=CALLER.user_id)
    assert not may_view(BACKUP, actor=CALLER, policy=Policy.empty(), perm=perm, user_id="USOMEONEELSE")
    with pytest.raises(NotFoundError):
        check_view(BACKUP, actor=CALLER, policy=Policy.empty(), perm=perm, user_id="USOMEONEELSE")


def test_whoever_may_run_a_job_may_see_it() -> None:
    runner_only = policy_with(Perm.RUN_JOB)
    assert may_view(BACKUP, actor=CALLER, policy=runner_only, perm=Perm.VIEW_JOB)
    assert not may_view(BACKUP, actor=CALLER, policy=runner_only, perm=Perm.VIEW_SCHEDULEDJOB)


def test_objects_of_a_deleted_job_need_the_model_level_permission() -> None:
    constrained = policy_with((Perm.VIEW_SCHEDULEDJOB, ("backup",)))
    assert may_view(None, actor=CALLER, policy=constrained, perm=Perm.VIEW_SCHEDULEDJOB)
    assert not may_view(None, actor=CALLER, policy=Policy.empty(), perm=Perm.VIEW_SCHEDULEDJOB)
