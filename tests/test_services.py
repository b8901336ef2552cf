"""The use cases on a real database (SQLite file, and PostgreSQL when configured): rows, audit and outbox."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import Core, build_core
from bot.config import Settings
from bot.domain.approvals import ApprovalState
from bot.domain.errors import (
    AlreadyDecidedError,
    FieldErrors,
    InvalidDataError,
    InvalidScheduleError,
    InvalidStateError,
    JobDisabledError,
    NotFoundError,
    NotRunnableError,
    PastDueError,
    PermissionDeniedError,
)
from bot.domain.permissions import Actor, Policy
from bot.domain.requests import SENSITIVE_AND_APPROVAL_MESSAGE
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from bot.services import ScheduleInput, Services, hash_token
from bot.transient import HandoverFullError, SensitiveHandover
from storage.db import Database, read_tables
from storage.repositories import Repositories
from tests.conftest import (
    ADMIN,
    ALICE,
    APPROVER,
    APPROVER2,
    BOB,
    NOBODY,
    NOW,
    POSTGRES_URL,
    VIEWER,
    build_test_core,
)

GOOD_DATA = {"var1": "x", "var2": 1, "var3": False, "var4": "role-a"}


def future(minutes: int = 5) -> ScheduleInput:
    return ScheduleInput(interval="future", name="later", start_time=NOW + timedelta(minutes=minutes))


def request_approval(services: Services, actor: Actor = ALICE, **kwargs: object) -> str:
    outcome = services.requests.request_job(actor=actor, job="testjobs.ApprovalJob", now=NOW,
                                            **kwargs)  # type: ignore[arg-type]
    assert outcome.scheduled_job is not None
    return outcome.scheduled_job.id


def rows(database: Database, table: str) -> list[dict[str, object]]:
    return read_tables(database.engine, table)[table]


def audit_actions(database: Database) -> list[str]:
    with database.read() as session:
        return [e.action for e in Repositories(session).audit.list_recent(limit=1000)]


def outbox(database: Database) -> list[tuple[str, str]]:
    with database.read() as session:
        return [(e.kind, e.channel) for e in Repositories(session).outbox.list_recent(limit=1000)]


# ------------------------------------------------------------------------------------------------------------ sync


def test_new_jobs_start_disabled_and_vanished_jobs_are_kept_as_not_installed(
    database: object, settings: Settings, policy: object, jobs_dir: Path
) -> None:
    svc = build_core(settings, db=database, policy=policy, migrate=False).services  # type: ignore[arg-type]
    first = svc.management.sync_jobs(now=NOW)
    assert "testjobs.TestPass" in first.report.added
    assert all(not job.enabled for job in svc.listings.list_jobs())

    svc.management.set_job_enabled("testjobs.TestPass", True, now=NOW)
    (jobs_dir / "testjobs.py").rename(jobs_dir / "renamed.py")
    second = svc.management.sync_jobs(now=NOW)
    assert "testjobs.TestPass" in second.report.uninstalled
    old = svc.listings.get_job("testjobs.TestPass")
    assert not old.installed and old.enabled  # kept, switch untouched
    assert not svc.listings.get_job("renamed.TestPass").enabled

    (jobs_dir / "renamed.py").rename(jobs_dir / "testjobs.py")
    third = svc.management.sync_jobs(now=NOW)
    assert "testjobs.TestPass" in third.report.reinstalled
    assert svc.listings.get_job("testjobs.TestPass").installed


def test_a_module_that_fails_to_import_is_reported_and_the_others_load(
    database: object, settings: Settings, policy: object, jobs_dir: Path
) -> None:
    (jobs_dir / "broken.py").write_text("import not_a_module_anywhere\n")
    svc = build_core(settings, db=database, policy=policy, migrate=False).services  # type: ignore[arg-type]
    outcome = svc.management.sync_jobs(now=NOW)
    assert [e.module for e in outcome.errors] == ["broken"]
    assert "not_a_module_anywhere" in outcome.errors[0].error
    assert svc.listings.get_job("testjobs.APITestJob").name == "API test job"


def test_jobs_are_found_by_uuid_slug_or_name(services: Services) -> None:
    job = services.listings.get_job("testjobs.TestPass")
    assert services.listings.get_job(job.id).slug == services.listings.get_job("Test pass").slug == "testjobs.TestPass"
    with pytest.raises(NotFoundError):
        services.listings.get_job("nope.Nope")


# ------------------------------------------------------------------------------------------------------- requesting


def test_run_now_creates_a_pending_job_result_and_no_scheduled_job(database: Database, services: Services) -> None:
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=dict(GOOD_DATA), now=NOW)
    assert outcome.scheduled_job is None
    result = outcome.job_result
    assert result is not None
    assert result.status is JobResultStatus.PENDING and not result.dry_run and result.user_id == "UALICE"
    [stored] = [row for row in rows(database, "job_results") if row["id"] == result.id]
    assert stored["data"] == GOOD_DATA
    assert audit_actions(database)[-1] == "job.run"
    assert rows(database, "scheduled_jobs") == []


def test_immediately_without_approval_is_the_same_as_now(services: Services) -> None:
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.TestPass",
                                            schedule=ScheduleInput(interval="immediately"), now=NOW)
    assert outcome.job_result is not None and outcome.scheduled_job is None


def test_sensitive_job_runs_now_and_its_data_is_never_stored(database: Database, services: Services) -> None:
    secret = "hunter2-very-secret"
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": secret}, now=NOW)
    assert outcome.job_result is not None
    assert outcome.transient_data == {"password": secret}
    assert secret not in repr(outcome)
    for table, stored in read_tables(database.engine).items():
        for row in stored:
            assert secret not in repr(tuple(row.values())), table


def test_sensitive_job_cannot_be_scheduled(database: Database, services: Services) -> None:
    with pytest.raises(InvalidScheduleError) as err:
        services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": "x"}, schedule=future(),
                                      now=NOW)
    assert err.value.errors == {"interval": ["Unable to schedule job: Job may have sensitive input variables"]}
    assert rows(database, "scheduled_jobs") == []


def test_sensitive_and_approval_required_job_cannot_run_at_all(services: Services) -> None:
    with pytest.raises(FieldErrors) as err:
        services.requests.request_job(actor=ALICE, job="testjobs.SensitiveApprovalJob",
                                      schedule=ScheduleInput(interval="immediately", name="test"), now=NOW)
    assert err.value.errors == [SENSITIVE_AND_APPROVAL_MESSAGE]


def test_refusals_follow_nautobots_order(database: Database, services: Services) -> None:
    with pytest.raises(PermissionDeniedError, match="does not have permission to run jobs"):
        services.requests.request_job(actor=NOBODY, job="testjobs.TestPass", now=NOW)
    with pytest.raises(NotFoundError):
        services.requests.request_job(actor=ALICE, job="testjobs.Nope", now=NOW)
    services.management.set_job_enabled("testjobs.TestFail", False, now=NOW)
    with pytest.raises(JobDisabledError, match="not enabled"):
        services.requests.request_job(actor=ALICE, job="testjobs.TestFail", now=NOW)
    assert rows(database, "job_results") == []


def test_a_job_whose_code_vanished_cannot_run(services: Services, jobs_dir: Path) -> None:
    (jobs_dir / "testjobs.py").unlink()
    services.management.sync_jobs(now=NOW)
    with pytest.raises(NotRunnableError, match="not presently installed"):
        services.requests.request_job(actor=ALICE, job="testjobs.TestPass", now=NOW)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ("invalid", ["Job data needs to be a dict"]),
        ({**GOOD_DATA, "var5": 1}, {"var5": ["Job data contained an unknown property"]}),
        ({"var1": "x", "var3": False}, {"var2": ["This field is required."], "var4": ["This field is required."]}),
    ],
)
def test_invalid_data_is_refused_and_nothing_is_stored(database: Database, services: Services, data: object,
                                                       errors: object) -> None:
    with pytest.raises(InvalidDataError) as err:
        services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=data, now=NOW)
    assert err.value.errors == errors
    assert rows(database, "job_results") == [] and rows(database, "scheduled_jobs") == []


def test_schedule_errors_come_before_data_errors(services: Services) -> None:
    with pytest.raises(InvalidScheduleError) as err:
        services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data="invalid",
                                      schedule=ScheduleInput(interval="future",
                                                             start_time=NOW - timedelta(minutes=1)), now=NOW)
    assert set(err.value.errors) == {"name", "start_time"}  # type: ignore[arg-type]


def test_unknown_interval_is_refused(services: Services) -> None:
    with pytest.raises(InvalidScheduleError) as err:
        services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=ScheduleInput(interval="xyz"),
                                      now=NOW)
    assert err.value.errors == {
        "interval": ['"xyz" is not a valid choice (immediately, future, hourly, daily, weekly, custom).']}


def test_future_schedule_without_approval_is_active_at_once(database: Database, services: Services) -> None:
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=dict(GOOD_DATA),
                                            schedule=future(10), now=NOW)
    job = outcome.scheduled_job
    assert job is not None and outcome.job_result is None
    assert job.approval_state is ApprovalState.NOT_REQUIRED
    assert job.next_run_at == NOW + timedelta(minutes=10)
    assert job.interval is IntervalType.FUTURE and job.data == GOOD_DATA
    assert outbox(database) == []  # nobody needs to approve


def test_custom_schedule_without_start_runs_at_the_next_match_in_the_requesters_zone(services: Services) -> None:
    outcome = services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass", time_zone="Europe/Berlin",
        schedule=ScheduleInput(interval="custom", name="nightly", crontab="0 2 * * *"), now=NOW,
    )
    job = outcome.scheduled_job
    assert job is not None and job.time_zone == "Europe/Berlin"
    # 02:00 in Berlin (UTC+1 in January) on the next day is 01:00 UTC.
    assert job.next_run_at == NOW.replace(day=16, hour=1)


def test_an_approval_required_request_waits_and_the_approvers_are_told(database: Database, services: Services) -> None:
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", now=NOW)
    job = outcome.scheduled_job
    assert job is not None and outcome.needs_approval and outcome.job_result is None
    assert job.approval_state is ApprovalState.PENDING and job.next_run_at is None
    assert job.interval is IntervalType.IMMEDIATELY and job.time_zone == "UTC"
    assert job.name == "Approval job – 2030-01-15 12:00"  # "<job name> – <time>", as Slack names one
    assert sorted(outbox(database)) == sorted([
        ("approval_request", "UADMIN"), ("approval_request", "UAPPROVER"), ("approval_request", "UAPPROVER2"),
        ("approval_request", "@net-approvers"),
    ])


def test_an_approval_channel_gets_the_request_instead_of_direct_messages(
    database: Database, settings: Settings, policy: Policy
) -> None:
    core = build_test_core(database, Settings(**{**settings.__dict__, "approval_channel": "C0APPROVALS"}), policy)
    request_approval(core.services)
    assert outbox(database) == [("approval_request", "C0APPROVALS")]


def test_a_dry_run_request_needs_no_approval(services: Services) -> None:
    outcome = services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", commit=False, now=NOW)
    assert outcome.scheduled_job is None and outcome.job_result is not None and outcome.job_result.dry_run


# -------------------------------------------------------------------------------------------------------- deciding


def test_approve_records_the_decision_makes_it_due_and_tells_everyone(database: Database, services: Services) -> None:
    sj_id = request_approval(services)
    approved = services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id,
                                                        now=NOW + timedelta(minutes=1))
    assert approved.approval_state is ApprovalState.APPROVED
    assert approved.decided_by_id == "UAPPROVER" and approved.decided_at == NOW + timedelta(minutes=1)
    assert approved.next_run_at == NOW + timedelta(minutes=1)  # immediately: runs as soon as it is approved
    kinds = outbox(database)
    assert ("request_approved", "UALICE") in kinds
    assert sum(1 for kind, _ in kinds if kind == "approval_update") == 4
    assert audit_actions(database)[-1] == "scheduled_job.approve"
    assert services.listings.list_approval_queue(APPROVER).count == 0


def test_nobody_approves_their_own_request_not_even_an_admin(services: Services) -> None:
    sj_id = request_approval(services, actor=ADMIN)
    with pytest.raises(PermissionDeniedError, match="You cannot approve your own job request!"):
        services.decisions.approve_scheduled_job(actor=ADMIN, scheduled_job_id=sj_id, now=NOW)
    assert services.listings.get_scheduled_job(ADMIN, sj_id).approval_state is ApprovalState.PENDING


def test_approving_needs_permission(services: Services) -> None:
    sj_id = request_approval(services)
    for actor in (BOB, NOBODY, VIEWER):
        with pytest.raises((PermissionDeniedError, NotFoundError)):
            services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=sj_id, now=NOW)
    assert services.listings.get_scheduled_job(ALICE, sj_id).approval_state is ApprovalState.PENDING


def test_a_second_decision_is_refused_and_names_the_first(services: Services) -> None:
    sj_id = request_approval(services)
    services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, now=NOW)
    with pytest.raises(AlreadyDecidedError, match="UAPPROVER"):
        services.decisions.approve_scheduled_job(actor=APPROVER2, scheduled_job_id=sj_id, now=NOW)
    with pytest.raises(AlreadyDecidedError):
        services.decisions.deny_scheduled_job(actor=APPROVER2, scheduled_job_id=sj_id, now=NOW)
    assert services.listings.get_scheduled_job(ALICE, sj_id).decided_by_id == "UAPPROVER"


def test_a_past_due_future_request_needs_force_and_then_runs_at_once(services: Services) -> None:
    sj_id = request_approval(services, schedule=future(5))
    late = NOW + timedelta(minutes=30)
    with pytest.raises(PastDueError):
        services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, now=late)
    assert services.listings.get_scheduled_job(ALICE, sj_id).approval_state is ApprovalState.PENDING
    approved = services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, force=True, now=late)
    assert approved.next_run_at == late


def test_a_future_request_approved_in_time_keeps_its_start(services: Services) -> None:
    sj_id = request_approval(services, schedule=future(60))
    approved = services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id,
                                                        now=NOW + timedelta(minutes=1))
    assert approved.next_run_at == NOW + timedelta(minutes=60)


def test_a_recurring_request_approved_late_starts_at_the_next_slot(services: Services) -> None:
    sj_id = request_approval(services, schedule=ScheduleInput(interval="hourly", name="h",
                                                              start_time=NOW + timedelta(minutes=5)))
    approved = services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id,
                                                        now=NOW + timedelta(hours=2, minutes=10))
    assert approved.next_run_at == NOW + timedelta(hours=3, minutes=5)


def test_deny_keeps_the_request_with_who_when_and_why(database: Database, services: Services) -> None:
    sj_id = request_approval(services)
    denied = services.decisions.deny_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, reason="change freeze",
                                                   now=NOW)
    assert denied.approval_state is ApprovalState.DENIED and not denied.enabled
    assert denied.decided_by_id == "UAPPROVER" and denied.decision_reason == "change freeze"
    assert ("request_denied", "UALICE") in outbox(database)
    assert services.listings.list_approval_queue(APPROVER).count == 0
    assert services.listings.list_scheduled_jobs(APPROVER).count == 0
    assert services.listings.get_scheduled_job(APPROVER, sj_id).decision_reason == "change freeze"


def test_the_requester_may_withdraw_their_own_request(database: Database, services: Services) -> None:
    sj_id = request_approval(services)
    withdrawn = services.decisions.deny_scheduled_job(actor=ALICE, scheduled_job_id=sj_id, now=NOW)
    assert withdrawn.approval_state is ApprovalState.DENIED
    assert audit_actions(database)[-1] == "scheduled_job.withdraw"
    assert ("request_denied", "UALICE") not in outbox(database)  # nobody tells Alice what she did herself


def test_deny_needs_permission(services: Services) -> None:
    sj_id = request_approval(services)
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        services.decisions.deny_scheduled_job(actor=BOB, scheduled_job_id=sj_id, now=NOW)


def test_dry_run_runs_as_the_approver_and_leaves_the_request_pending(services: Services) -> None:
    sj_id = request_approval(services)
    result = services.decisions.dry_run_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, now=NOW)
    assert result.dry_run and result.user_id == "UAPPROVER" and result.scheduled_job_id == sj_id
    assert services.listings.get_scheduled_job(ALICE, sj_id).approval_state is ApprovalState.PENDING
    with pytest.raises(PermissionDeniedError):
        services.decisions.dry_run_scheduled_job(actor=VIEWER, scheduled_job_id=sj_id, now=NOW)


if POSTGRES_URL:  # two write transactions at once: SQLite runs one at a time

    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    def test_a_double_click_on_a_request_one_approval_decides_is_refused_as_already_approved(
        database: Database, services: Services
    ) -> None:
        """The second click's approval waits on the first's (same approver, same request), which then commits the
        decision: the second is told who approved it, as any late click is."""
        sj_id = request_approval(services)
        refused: list[Exception] = []

        def second_click() -> None:
            try:
                services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj_id, now=NOW)
            except Exception as exc:  # what the second click is answered
                refused.append(exc)

        with database.write() as session:  # the first click's transaction, until it commits
            repos = Repositories(session)
            assert repos.scheduled_jobs.add_approval(sj_id, user_id=APPROVER.user_id, at=NOW, comment=None)
            assert repos.scheduled_jobs.decide(sj_id, approval_state=ApprovalState.APPROVED,
                                               decided_by_id=APPROVER.user_id, decided_at=NOW, reason=None,
                                               next_run_at=NOW, end=False)
            second = threading.Thread(target=second_click)
            second.start()
            _wait_until_a_statement_waits_for_a_lock(database)
        second.join(timeout=30)
        assert len(refused) == 1 and isinstance(refused[0], AlreadyDecidedError), refused
        assert "already approved by" in str(refused[0])
        assert len(services.listings.get_scheduled_job(ADMIN, sj_id).approvals) == 1


    def _wait_until_a_statement_waits_for_a_lock(database: Database) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with database.engine.connect() as connection:
                if connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'")).scalar():
                    return
            time.sleep(0.02)
        raise AssertionError("the second approval never waited for the first")


def test_unknown_ids_are_not_found(services: Services) -> None:
    for ident in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFoundError):
            services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=ident, now=NOW)


@pytest.mark.parametrize("threads", [15])
def test_fifteen_racing_decisions_leave_exactly_one_standing(database: Database, services: Services,
                                                             threads: int) -> None:
    sj_id = request_approval(services)
    approvers = [APPROVER, APPROVER2, ADMIN]
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(i: int) -> None:
        actor = ALICE if i == 0 else approvers[i % len(approvers)]  # the requester withdraws in the race too
        barrier.wait()
        try:
            if i % 2:
                services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=sj_id, now=NOW)
                outcome = "approved"
            else:
                services.decisions.deny_scheduled_job(actor=actor, scheduled_job_id=sj_id, reason=f"no {i}", now=NOW)
                outcome = "denied"
        except AlreadyDecidedError:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=decide, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert sorted(outcomes).count("refused") == threads - 1
    winner = next(o for o in outcomes if o != "refused")
    final = services.listings.get_scheduled_job(ADMIN, sj_id)
    assert final.approval_state.value == winner
    decisions = [a for a in audit_actions(database)
                 if a in ("scheduled_job.approve", "scheduled_job.deny", "scheduled_job.withdraw")]
    assert len(decisions) == 1


# ------------------------------------------------------------------------------------------------------ management


def test_cancel_ends_a_scheduled_job_but_keeps_it(services: Services) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=future(), now=NOW).scheduled_job
    assert sj is not None
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        services.management.cancel_scheduled_job(actor=BOB, scheduled_job_id=sj.id, now=NOW)
    cancelled = services.management.cancel_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW)
    assert not cancelled.enabled and cancelled.end_reason == "cancelled" and cancelled.next_run_at is None
    with pytest.raises(InvalidStateError):
        services.management.cancel_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW)
    assert services.listings.list_scheduled_jobs(ALICE).count == 0


def test_pause_and_resume_skip_the_runs_missed_while_paused(services: Services) -> None:
    sj = services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass",
        schedule=ScheduleInput(interval="hourly", name="h", start_time=NOW + timedelta(minutes=5)), now=NOW,
    ).scheduled_job
    assert sj is not None
    paused = services.management.pause_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW)
    assert paused.paused
    with pytest.raises(InvalidStateError, match="already paused"):
        services.management.pause_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW)
    resumed = services.management.resume_scheduled_job(actor=APPROVER, scheduled_job_id=sj.id,
                                                       now=NOW + timedelta(hours=5))
    assert not resumed.paused
    assert resumed.next_run_at == NOW + timedelta(hours=5, minutes=5)


def test_one_off_jobs_cannot_be_paused(services: Services) -> None:
    sj = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=future(), now=NOW).scheduled_job
    assert sj is not None
    with pytest.raises(InvalidStateError, match="recurring"):
        services.management.pause_scheduled_job(actor=ALICE, scheduled_job_id=sj.id, now=NOW)


# -------------------------------------------------------------------------------------------------------- listings


def test_listings_show_what_each_person_may_see(services: Services) -> None:
    mine = request_approval(services, actor=ALICE)
    services.requests.request_job(actor=BOB, job="testjobs.TestPass", schedule=future(), now=NOW)
    assert [sj.id for sj in services.listings.list_approval_queue(APPROVER).items] == [mine]
    assert services.listings.list_scheduled_jobs(APPROVER).count == 2
    assert services.listings.list_scheduled_jobs(APPROVER, approval_state="pending").count == 1
    assert services.listings.list_scheduled_jobs(APPROVER, job="testjobs.TestPass").count == 1
    assert services.listings.list_scheduled_jobs(NOBODY).count == 0
    with pytest.raises(NotFoundError):
        services.listings.get_scheduled_job(NOBODY, mine)
    with pytest.raises(FieldErrors):
        services.listings.list_scheduled_jobs(APPROVER, approval_state="maybe")


def test_pagination_counts_everything_and_returns_a_slice(services: Services) -> None:
    for _ in range(7):
        services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=future(), now=NOW)
    page = services.listings.list_scheduled_jobs(ALICE, limit=3, offset=6)
    assert page.count == 7 and len(page.items) == 1


def test_results_are_visible_to_their_owner_and_to_viewers(services: Services) -> None:
    result = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", now=NOW).job_result
    assert result is not None
    assert services.listings.get_job_result(ALICE, result.id).id == result.id
    assert services.listings.get_job_result(APPROVER, result.id).id == result.id
    with pytest.raises(NotFoundError):
        services.listings.get_job_result(NOBODY, result.id)
    assert services.listings.list_job_results(NOBODY).count == 0
    assert services.listings.list_job_results(ALICE, job="testjobs.TestPass").count == 1


def test_job_listing_hides_jobs_the_user_may_not_see(services: Services) -> None:
    assert services.listings.list_jobs(NOBODY) == []
    assert {j.slug for j in services.listings.list_jobs(ALICE)} >= {"testjobs.TestPass", "testjobs.ApprovalJob"}


# ---------------------------------------------------------------------------------------------------------- tokens


def test_api_tokens_are_stored_hashed_and_authenticate_their_user(database: Database, services: Services) -> None:
    token = services.tokens.create_api_token(user_id="UALICE", description="ci")
    assert len(token) == 40
    [stored] = rows(database, "api_tokens")
    stored_hash = stored["key_hash"]
    with database.read() as session:
        dump = repr(list(session.execute(text("SELECT * FROM api_tokens"))))
    assert stored_hash == hash_token(token) and token not in dump
    actor = services.tokens.authenticate_token(token)
    assert actor is not None and actor.user_id == "UALICE"
    assert services.tokens.authenticate_token("0" * 40) is None


def test_tokens_are_only_for_slack_user_ids(services: Services) -> None:
    with pytest.raises(FieldErrors):
        services.tokens.create_api_token(user_id="alice")


def test_a_decision_returns_the_scheduled_job_exactly_as_stored(services: Services) -> None:
    approved_id, denied_id = request_approval(services), request_approval(services)
    approved = services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=approved_id, now=NOW)
    denied = services.decisions.deny_scheduled_job(actor=APPROVER, scheduled_job_id=denied_id, reason="no", now=NOW)
    assert approved == services.listings.get_scheduled_job(ADMIN, approved_id)
    assert denied == services.listings.get_scheduled_job(ADMIN, denied_id)


def test_the_data_of_a_sensitive_run_not_started_in_time_is_dropped_from_memory(core: Core) -> None:
    handover = core.handover
    first = core.services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": "a"},
                                               now=NOW).job_result
    assert first is not None and first.id in handover
    # Ten minutes later nothing has run it: its hand-over deadline passed, its data goes with the next request.
    second = core.services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": "b"},
                                                now=NOW + timedelta(minutes=10)).job_result
    assert second is not None
    assert first.id not in handover and second.id in handover and len(handover) == 1
    assert handover.expire(NOW + timedelta(minutes=10, seconds=1)) == 0
    assert handover.expire(NOW + timedelta(minutes=20)) == 1 and len(handover) == 0


def test_sensitive_runs_waiting_in_memory_are_bounded(core: Core) -> None:
    deps = dataclasses.replace(core.deps, handover=SensitiveHandover(max_pending=2))
    services = Services.over(deps)
    for secret in ("a", "b"):
        services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": secret}, now=NOW)
    with pytest.raises(HandoverFullError, match="Too many runs of jobs with sensitive variables"):
        services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": "c"}, now=NOW)
    assert len(deps.handover) == 2
    with core.db.read() as session:
        assert Repositories(session).job_results.list_page(limit=10, offset=0).count == 2  # the refused one is not
    later = services.requests.request_job(actor=ALICE, job="testjobs.ExampleJob", data={"password": "d"},
                                          now=NOW + timedelta(minutes=10))  # the first two expired meanwhile
    assert later.job_result is not None and len(deps.handover) == 1
