"""Nautobot's own API test catalogue (docs/nautobot-behaviour.md §6), ported to jobgate's REST API: one test per case,
named after it, with jobgate's documented differences ("Where jobgate differs on purpose").

Ported: ``JobAPIRunTestMixin`` 1-5, 12-20 and 2.4's ``test_run_job_response_job_result``; ``JobApprovalTest`` 1-15;
``ScheduledJobTest`` (list/detail, brief fields); the scheduled-job list cases of ``ScheduledJobTestCase``; the
``ApprovalQueueTestCase`` cases, as the API's approval queue (``?approval_state=pending``) and its actions.

Not ported, because jobgate has no such thing:
- ``test_run_job_no_worker`` (6): no Celery workers; the runner is in-process.
- ``test_run_job_object_var`` (7), ``test_run_job_object_var_no_schedule`` (8), ``test_run_job_object_var_lookup``
  (9): no ObjectVar (the behaviour of 8 without its ObjectVar is covered below by
  ``test_run_approval_required_job_without_schedule_creates_a_pending_request``).
- ``test_run_job_file_data_commit`` / ``_file_data_only`` / ``test_run_job_file_data_schedule`` (10, 11): no FileVar,
  no multipart.
- ``test_run_job_with_invalid_task_queue`` / ``test_run_job_with_valid_task_queue`` /
  ``..._default_queue_with_empty_job_model_task_queues`` (21, 22) and 2.4's
  ``test_run_job_with_both_task_queue_and_job_queue_specified``: no task queues.
- ``JobTestVersion13`` PATCH cases: jobs are configured in code and with ``jobgate jobs``, not through the API.
- The mixin's second run of every case under the deprecated 1.2 class-path API (200 instead of 201): jobgate serves
  the 1.3 API only (the ``version=1.3`` of the Accept header is accepted and ignored).
- ``JobApprovalTest`` 16 and ``test_post_dry_run_not_supported`` (2.4 DryRunVar): jobgate's dry run is
  ``commit=False`` (Nautobot 1.x), which every job supports.
- ``test_options_object``: no OPTIONS. ``ScheduledJobTestCase``'s delete, bulk-delete and Assume-Ownership cases and
  ``JobTestCase`` (the run page): UI views with no API counterpart.

jobgate differences applied: without view permission a scheduled job is not found (404) rather than forbidden, and a
user without it sees only their own requests; errors are ``{"detail": ...}`` objects; a denied request is kept (and
leaves the lists); a second decision is 409; the anonymous user is never exempt from authentication.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.domain.approvals import SELF_APPROVAL_MESSAGE
from bot.domain.requests import SENSITIVE_AND_APPROVAL_MESSAGE, SENSITIVE_SCHEDULE_MESSAGE
from bot.services import ScheduleInput, Services
from storage.db import Database, read_tables
from tests.api.conftest import (
    APPROVE_ONLY,
    CONSTRAINED,
    GOOD_DATA,
    SCHEDULER,
    Api,
    Clock,
    future,
    job_id,
    request_approval,
)
from tests.conftest import ADMIN, ALICE, APPROVER, BOB, NOBODY, NOW, VIEWER

START_TIME_MESSAGE = "Please enter a start time at least 15 seconds from now."
PAST_DUE_MESSAGE = (
    "The job's start time is in the past. If you want to force a run anyway, add the `force` query parameter."
)


def iso(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def run_url(services: Services, slug: str) -> str:
    return f"/api/extras/jobs/{job_id(services, slug)}/run/"


def sj_url(scheduled_job_id: str, action: str = "") -> str:
    return f"/api/extras/scheduled-jobs/{scheduled_job_id}/" + (f"{action}/" if action else "")


def state_of(api: Api, scheduled_job_id: str) -> dict[str, Any]:
    response = api.get(sj_url(scheduled_job_id), ADMIN)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _rows(database: Database, table: str) -> list[SimpleNamespace]:
    """Rows as read back from the database (plain values, usable after the session ends)."""
    return [SimpleNamespace(**row) for row in read_tables(database.engine, table)[table]]


def scheduled_job_rows(database: Database) -> list[SimpleNamespace]:
    return _rows(database, "scheduled_jobs")


def job_result_rows(database: Database) -> list[SimpleNamespace]:
    return _rows(database, "job_results")


# ------------------------------------------------------------------------------------- JobAPIRunTestMixin (1.6)


def test_run_job_anonymous_not_permitted(database: Database, api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), json={"data": GOOD_DATA})
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert job_result_rows(database) == []


def test_run_job_without_permission(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), NOBODY, json={})
    assert response.status_code == 403
    assert response.json() == {"detail": "This user does not have permission to run jobs."}


def test_run_job_object_permissions(api: Api, services: Services) -> None:
    outside = api.post(run_url(services, "testjobs.APITestJob"), CONSTRAINED, json={"data": GOOD_DATA})
    assert outside.status_code == 404
    inside = api.post(run_url(services, "testjobs.TestPass"), CONSTRAINED, json={})
    assert inside.status_code == 201
    assert inside.json()["job_result"]["job_model"]["slug"] == "testjobs.TestPass"


def test_run_job_not_enabled(api: Api, services: Services) -> None:
    services.management.set_job_enabled("testjobs.APITestJob", False)
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": GOOD_DATA})
    assert response.status_code == 403
    assert response.json() == {"detail": "This job is not enabled to be run."}


def test_run_job_not_installed(api: Api, services: Services, jobs_dir: Path) -> None:
    url = run_url(services, "testjobs.APITestJob")
    (jobs_dir / "testjobs.py").rename(jobs_dir / "renamed_testjobs.py")
    services.management.sync_jobs()
    assert not services.listings.get_job("testjobs.APITestJob").installed
    response = api.post(url, ALICE, json={"data": GOOD_DATA})
    assert response.status_code == 405
    assert response.json() == {"detail": "This job is not presently installed and cannot be run"}


def test_run_job_future(api: Api, services: Services) -> None:
    schedule = {"name": "test", "interval": "future", "start_time": iso(1)}
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE,
                        json={"data": GOOD_DATA, "commit": True, "schedule": schedule})
    assert response.status_code == 201
    body = response.json()
    assert body["job_result"] is None
    created = body["schedule"]
    assert created["name"] == "test"
    assert created["interval"] == "future"
    assert created["start_time"] == (NOW + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created["url"].endswith(f"/api/extras/scheduled-jobs/{created['id']}/")
    assert created["crontab"] is None
    assert created["approval_state"] == "not_required"
    assert created["data"] == GOOD_DATA


def test_run_job_future_schedule_kwargs_pk(database: Database, api: Api, services: Services) -> None:
    schedule = {"name": "test", "interval": "future", "start_time": iso(1)}
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": GOOD_DATA, "schedule": schedule})
    assert response.status_code == 201
    created = response.json()["schedule"]
    [row] = scheduled_job_rows(database)
    assert row.id == created["id"]
    assert state_of(api, created["id"])["name"] == "test"


def test_run_a_job_with_sensitive_variables_for_future(api: Api, services: Services) -> None:
    schedule = {"name": "test", "interval": "future", "start_time": iso(1)}
    response = api.post(run_url(services, "testjobs.ExampleJob"), ALICE,
                        json={"data": {"password": "x"}, "schedule": schedule})
    assert response.status_code == 400
    assert response.json()["schedule"]["interval"][0] == SENSITIVE_SCHEDULE_MESSAGE


def test_run_a_job_with_sensitive_variables_and_requires_approval(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.SensitiveApprovalJob"), ALICE,
                        json={"schedule": {"interval": "immediately", "name": "test"}})
    assert response.status_code == 400
    # Nautobot answers a bare list; jobgate the same sentence as {"detail": ...}.
    assert response.json() == {"detail": SENSITIVE_AND_APPROVAL_MESSAGE}


def test_run_a_job_with_sensitive_variables_immediately(database: Database, api: Api, services: Services) -> None:
    secret = "hunter2-sensitive"
    response = api.post(run_url(services, "testjobs.ExampleJob"), ALICE,
                        json={"data": {"password": secret}, "schedule": {"interval": "immediately"}})
    assert response.status_code == 201
    body = response.json()
    assert body["schedule"] is None and body["job_result"]["status"]["value"] == "pending"
    assert secret not in response.text
    [row] = job_result_rows(database)
    assert row.data is None  # Nautobot: JobResult.job_kwargs is None


def test_run_job_future_past(api: Api, services: Services) -> None:
    schedule = {"name": "test", "interval": "future", "start_time": iso(-1)}
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": GOOD_DATA, "schedule": schedule})
    assert response.status_code == 400
    assert response.json() == {"schedule": {"start_time": [START_TIME_MESSAGE]}}


def test_run_job_interval(api: Api, services: Services) -> None:
    schedule = {"name": "test", "interval": "hourly", "start_time": iso(1)}
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": GOOD_DATA, "schedule": schedule})
    assert response.status_code == 201
    created = response.json()["schedule"]
    assert created["name"] == "test"
    assert created["interval"] == "hourly"
    assert created["start_time"] == (NOW + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created["next_run_at"] == created["start_time"]
    assert response.json()["job_result"] is None


def test_run_job_with_invalid_data(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": "invalid"})
    assert response.status_code == 400
    assert response.json() == {"errors": ["Job data needs to be a dict"]}


def test_run_job_with_wrong_data(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": {**GOOD_DATA, "var5": "x"}})
    assert response.status_code == 400
    assert response.json() == {"errors": {"var5": ["Job data contained an unknown property"]}}


def test_run_job_with_missing_data(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE,
                        json={"data": {"var1": "x", "var3": False}})
    assert response.status_code == 400
    assert response.json() == {"errors": {"var2": ["This field is required."], "var4": ["This field is required."]}}


def test_run_job_schedule_interval_is_required(database: Database, api: Api, services: Services) -> None:
    """Row 9 of the run checks: a schedule without ``interval`` is refused (never read as "run now")."""
    for schedule in ({}, {"name": "test", "start_time": iso(5)}):
        response = api.post(run_url(services, "testjobs.TestPass"), ALICE, json={"schedule": schedule})
        assert response.status_code == 400
        assert response.json() == {"schedule": {"interval": ["This field is required."]}}
    assert job_result_rows(database) == [] and scheduled_job_rows(database) == []


def test_run_job_response_job_result(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.APITestJob"), ALICE, json={"data": GOOD_DATA})
    assert response.status_code == 201
    body = response.json()
    assert body["schedule"] is None
    result = body["job_result"]
    assert result["scheduled_job"] is None
    assert result["status"] == {"value": "pending", "label": "Pending"}
    assert result["user"] == {"id": "UALICE", "name": "UALICE"}
    assert result["dry_run"] is False
    assert result["job_model"]["slug"] == "testjobs.APITestJob"
    assert api.get(f"/api/extras/job-results/{result['id']}/", ALICE).json() == result


def test_run_approval_required_job_without_schedule_creates_a_pending_request(database: Database, api: Api,
                                                                              services: Services) -> None:
    """Nautobot's ``test_run_job_object_var_no_schedule`` without its ObjectVar: no job result, a pending request."""
    response = api.post(run_url(services, "testjobs.ApprovalJob"), ALICE, json={"data": {"device": "core-9"}})
    assert response.status_code == 201
    body = response.json()
    assert body["job_result"] is None
    created = body["schedule"]
    assert created["interval"] == "immediately"  # jobgate runs it as soon as it is approved (Nautobot 2.4 fix)
    assert created["approval_required"] is True and created["approval_state"] == "pending"
    assert created["data"] == {"device": "core-9"}
    assert job_result_rows(database) == []


# ---------------------------------------------------------------------------------------- JobApprovalTest (1.6)


@pytest.fixture
def pending(services: Services) -> str:
    """Nautobot's fixture: an approval-required ``immediately`` request by another user (ALICE)."""
    return request_approval(services, ALICE)


def test_approve_job_anonymous(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "approve"))
    assert response.status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_approve_job_without_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "approve"), NOBODY)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to approve this request."}


def test_approve_job_without_approve_job_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "approve"), SCHEDULER)
    assert response.status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_approve_job_without_change_scheduledjob_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "approve"), APPROVE_ONLY)
    assert response.status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_approve_job_same_user(api: Api, services: Services) -> None:
    own = request_approval(services, ADMIN)
    response = api.post(sj_url(own, "approve"), ADMIN)
    assert response.status_code == 403
    assert response.json() == {"detail": SELF_APPROVAL_MESSAGE}  # Nautobot: a bare string


def test_approve_job(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "approve"), APPROVER)
    assert response.status_code == 200
    body = response.json()
    assert body["approval_state"] == "approved"
    assert body["approved_by_user"] == {"id": "UAPPROVER", "name": "UAPPROVER"}
    assert body["approved_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["next_run_at"] == body["approved_at"]  # immediately: runs as soon as it is approved


def test_approve_job_in_past(api: Api, services: Services, clock: Clock) -> None:
    late = request_approval(services, ALICE, schedule=future(1))
    clock.advance(timedelta(minutes=2))
    response = api.post(sj_url(late, "approve"), APPROVER)
    assert response.status_code == 400
    assert response.json() == {"detail": PAST_DUE_MESSAGE}  # Nautobot: a bare string
    assert state_of(api, late)["approval_state"] == "pending"


def test_approve_job_in_past_force(api: Api, services: Services, clock: Clock) -> None:
    late = request_approval(services, ALICE, schedule=future(1))
    clock.advance(timedelta(minutes=2))
    response = api.post(sj_url(late, "approve") + "?force=true", APPROVER)
    assert response.status_code == 200
    assert response.json()["approval_state"] == "approved"
    assert response.json()["next_run_at"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")  # runs at once


def test_deny_job_without_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "deny"), NOBODY)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to deny this request."}


def test_deny_job_without_approve_job_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "deny"), SCHEDULER)
    assert response.status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_deny_job_without_delete_scheduledjob_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "deny"), APPROVE_ONLY)
    assert response.status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_deny_job(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "deny"), APPROVER, json={"reason": "not during the freeze"})
    assert response.status_code == 200  # Nautobot: 200 with null, and the schedule is deleted
    body = response.json()
    assert body["approval_state"] == "denied" and body["enabled"] is False
    assert body["decided_by_user"]["id"] == "UAPPROVER" and body["approved_by_user"] is None
    assert body["decision_reason"] == "not during the freeze"
    assert state_of(api, pending)["approval_state"] == "denied"  # kept for the record
    listed = api.get("/api/extras/scheduled-jobs/", APPROVER).json()
    assert pending not in [item["id"] for item in listed["results"]]


def test_dry_run_job_without_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "dry-run"), NOBODY)
    assert response.status_code == 403


def test_dry_run_job_without_run_job_permission(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "dry-run"), VIEWER)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to run this job."}


def test_dry_run_job(api: Api, services: Services, pending: str) -> None:
    response = api.post(sj_url(pending, "dry-run"), BOB)
    assert response.status_code == 200
    result = response.json()
    assert result["dry_run"] is True
    assert result["user"]["id"] == "UBOB"
    assert result["scheduled_job"]["id"] == pending
    assert result["status"]["value"] == "pending"
    assert state_of(api, pending)["approval_state"] == "pending"


# ------------------------------------------------------------------------- ScheduledJobTest (list and detail)


@pytest.fixture
def three_requests(services: Services) -> list[str]:
    """Nautobot's fixture: three approval-required ``immediately`` requests test1..3 by user1 (ALICE)."""
    return [
        request_approval(services, ALICE, schedule=ScheduleInput(interval="immediately", name=f"test{n}"))
        for n in (1, 2, 3)
    ]


def test_get_object_anonymous(api: Api, three_requests: list[str]) -> None:
    response = api.get(sj_url(three_requests[0]))
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_get_object_without_permission(api: Api, three_requests: list[str]) -> None:
    response = api.get(sj_url(three_requests[0]), NOBODY)
    assert response.status_code == 404  # jobgate: what you may not see is not found
    assert response.json() == {"detail": "Scheduled job not found."}


def test_get_object(api: Api, three_requests: list[str]) -> None:
    response = api.get(sj_url(three_requests[0]), APPROVER)
    assert response.status_code == 200
    assert response.json()["name"] == "test1"
    assert response.json()["display"] == "test1"


def test_get_object_with_constrained_permission(api: Api, services: Services) -> None:
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    outside = request_approval(services, ALICE)
    assert api.get(sj_url(inside), CONSTRAINED).status_code == 200
    assert api.get(sj_url(outside), CONSTRAINED).status_code == 404


def test_list_objects_anonymous(api: Api, three_requests: list[str]) -> None:
    assert api.get("/api/extras/scheduled-jobs/").status_code == 403


def test_list_objects_brief(api: Api, three_requests: list[str]) -> None:
    response = api.get("/api/extras/scheduled-jobs/?brief=1", APPROVER)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    for item in results:
        assert sorted(item) == ["crontab", "display", "id", "interval", "name", "start_time", "url"]


def test_list_objects_without_permission(api: Api, three_requests: list[str]) -> None:
    response = api.get("/api/extras/scheduled-jobs/", NOBODY)
    assert response.status_code == 200  # jobgate: a user without view permission sees only their own requests
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_objects(api: Api, three_requests: list[str]) -> None:
    response = api.get("/api/extras/scheduled-jobs/", APPROVER)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert sorted(item["name"] for item in body["results"]) == ["test1", "test2", "test3"]


def test_list_objects_with_constrained_permission(api: Api, services: Services, three_requests: list[str]) -> None:
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    response = api.get("/api/extras/scheduled-jobs/", CONSTRAINED)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [inside]


# --------------------------------------------------------------------------------- ScheduledJobTestCase (views)


def test_only_enabled_is_listed(api: Api, services: Services, three_requests: list[str]) -> None:
    services.management.cancel_scheduled_job(actor=ALICE, scheduled_job_id=three_requests[2])
    listed = api.get("/api/extras/scheduled-jobs/", APPROVER).json()
    assert sorted(item["name"] for item in listed["results"]) == ["test1", "test2"]
    ended = api.get(sj_url(three_requests[2]), APPROVER).json()  # ended ones stay readable by id
    assert ended["enabled"] is False and ended["end_reason"] == "cancelled"


@pytest.mark.parametrize(
    "crontab",
    [None, "", "not_enough_values_to_unpack", "one too many values to unpack", "-1 * * * *", "invalid literal * * *"],
)
def test_non_valid_crontab_syntax(database: Database, api: Api, services: Services, crontab: str | None) -> None:
    schedule = {"name": "test", "interval": "custom", "crontab": crontab}
    response = api.post(run_url(services, "testjobs.TestPass"), ALICE, json={"schedule": schedule})
    assert response.status_code == 400
    errors = response.json()["schedule"]
    assert list(errors) == ["crontab"] and errors["crontab"][0]
    assert scheduled_job_rows(database) == []


def test_valid_crontab_syntax(api: Api, services: Services) -> None:
    schedule = {"name": "test11", "interval": "custom", "crontab": "*/15 9,17 3 * 1-5"}
    response = api.post(run_url(services, "testjobs.TestPass"), ALICE, json={"schedule": schedule})
    assert response.status_code == 201
    assert response.json()["schedule"]["crontab"] == "*/15 9,17 3 * 1-5"
    listed = api.get("/api/extras/scheduled-jobs/", ALICE).json()
    assert "test11" in [item["name"] for item in listed["results"]]


# ------------------------------------------------------------------ ApprovalQueueTestCase (the approval queue)

QUEUE = "/api/extras/scheduled-jobs/?approval_state=pending"


def test_only_approvable_is_listed(api: Api, services: Services, three_requests: list[str]) -> None:
    services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=future(10, name="test4"))
    queue = api.get(QUEUE, APPROVER).json()
    assert sorted(item["name"] for item in queue["results"]) == ["test1", "test2", "test3"]
    everything = api.get("/api/extras/scheduled-jobs/", APPROVER).json()
    assert "test4" in [item["name"] for item in everything["results"]]


def test_get_object_anonymous_queue(api: Api, three_requests: list[str]) -> None:
    """``ApprovalQueueTestCase.test_get_object_anonymous``: Nautobot exempts views; jobgate always authenticates."""
    assert api.get(QUEUE).status_code == 403


def test_get_object_without_permission_queue(api: Api, three_requests: list[str]) -> None:
    """``ApprovalQueueTestCase.test_get_object_without_permission``: the request is not found (jobgate: 404)."""
    assert api.get(sj_url(three_requests[0]), NOBODY).status_code == 404
    assert api.get(QUEUE, NOBODY).json()["count"] == 0


def test_get_object_with_permission_queue(api: Api, three_requests: list[str]) -> None:
    """``ApprovalQueueTestCase.test_get_object_with_permission``."""
    response = api.get(sj_url(three_requests[0]), APPROVER)
    assert response.status_code == 200 and response.json()["display"] == "test1"
    assert api.get(QUEUE, APPROVER).json()["count"] == 3


def test_get_object_with_constrained_permission_queue(api: Api, services: Services) -> None:
    """``ApprovalQueueTestCase.test_get_object_with_constrained_permission``: 200 for one instance, 404 for another."""
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    outside = request_approval(services, ALICE)
    assert api.get(sj_url(inside), CONSTRAINED).status_code == 200
    assert api.get(sj_url(outside), CONSTRAINED).status_code == 404
    assert [item["id"] for item in api.get(QUEUE, CONSTRAINED).json()["results"]] == [inside]


def test_post_anonymous(database: Database, api: Api, services: Services, pending: str) -> None:
    for action in ("dry-run", "approve", "deny"):
        assert api.post(sj_url(pending, action)).status_code == 403
    assert job_result_rows(database) == []


def test_post_dry_run_not_runnable(database: Database, api: Api, services: Services, pending: str) -> None:
    services.management.set_job_enabled("testjobs.ApprovalJob", False)
    response = api.post(sj_url(pending, "dry-run"), BOB)
    assert response.status_code == 405
    assert response.json()["detail"].startswith("This job cannot be dry-run at this time.")
    assert job_result_rows(database) == []


def test_post_dry_run_needs_job_run_permission(database: Database, api: Api, services: Services, pending: str) -> None:
    response = api.post(sj_url(pending, "dry-run"), VIEWER)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to run this job."}
    assert job_result_rows(database) == []


def test_post_dry_run_needs_specific_job_run_permission(database: Database, api: Api, services: Services,
                                                        pending: str) -> None:
    response = api.post(sj_url(pending, "dry-run"), CONSTRAINED)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to run this job."}
    assert job_result_rows(database) == []


def test_post_dry_run_success(database: Database, api: Api, services: Services) -> None:
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    response = api.post(sj_url(inside, "dry-run"), CONSTRAINED)
    assert response.status_code == 200
    [row] = job_result_rows(database)
    assert row.id == response.json()["id"]
    assert row.job_id == job_id(services, "apijobs.ConstrainedApprovalJob")
    assert row.user_id == "UCONSTRAINED" and row.dry_run


def test_post_deny_different_user_lacking_permissions(api: Api, pending: str) -> None:
    for user in (SCHEDULER, APPROVE_ONLY):
        response = api.post(sj_url(pending, "deny"), user)
        assert response.status_code == 403
        assert response.json() == {"detail": "You do not have permission to deny this request."}
    assert state_of(api, pending)["approval_state"] == "pending"


def test_post_deny_different_user_permitted(api: Api, services: Services, pending: str) -> None:
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    assert api.post(sj_url(inside, "deny"), CONSTRAINED).status_code == 200
    assert state_of(api, inside)["approval_state"] == "denied"
    assert api.post(sj_url(pending, "deny"), CONSTRAINED).status_code == 403
    assert state_of(api, pending)["approval_state"] == "pending"


def test_post_approve_cannot_self_approve(api: Api, services: Services) -> None:
    own = request_approval(services, APPROVER)
    response = api.post(sj_url(own, "approve"), APPROVER)
    assert response.status_code == 403
    assert response.json() == {"detail": SELF_APPROVAL_MESSAGE}
    assert state_of(api, own)["approved_by_user"] is None


def test_post_approve_different_user_lacking_permissions(api: Api, pending: str) -> None:
    for user in (SCHEDULER, APPROVE_ONLY):
        response = api.post(sj_url(pending, "approve"), user)
        assert response.status_code == 403
        assert response.json() == {"detail": "You do not have permission to approve this request."}
    assert state_of(api, pending)["approval_state"] == "pending"


def test_post_approve_different_user_permitted(api: Api, services: Services, pending: str) -> None:
    inside = request_approval(services, ALICE, job="apijobs.ConstrainedApprovalJob")
    response = api.post(sj_url(inside, "approve"), CONSTRAINED)
    assert response.status_code == 200
    assert response.json()["approved_by_user"]["id"] == "UCONSTRAINED"
    assert api.post(sj_url(pending, "approve"), CONSTRAINED).status_code == 403
    assert state_of(api, pending)["approved_by_user"] is None


# ------------------------------------------------------------------------------- where jobgate differs on purpose


def test_a_second_decision_is_409_and_changes_nothing(api: Api, pending: str) -> None:
    assert api.post(sj_url(pending, "approve"), APPROVER).status_code == 200
    for user, action in ((APPROVER, "approve"), (ADMIN, "approve"), (ADMIN, "deny")):
        response = api.post(sj_url(pending, action), user)
        assert response.status_code == 409
        # the user as their ID, not a Slack mention (CONTRACT: API answers name users by ID)
        assert response.json() == {
            "detail": f"This request was already approved by UAPPROVER at {NOW:%Y-%m-%d %H:%M} UTC."
        }
    after = state_of(api, pending)
    assert after["approval_state"] == "approved" and after["approved_by_user"]["id"] == "UAPPROVER"


def test_force_false_does_not_force(api: Api, services: Services, clock: Clock) -> None:
    late = request_approval(services, ALICE, schedule=future(1))
    clock.advance(timedelta(minutes=2))
    for value in ("false", "0", "no", "False"):
        response = api.post(sj_url(late, "approve") + f"?force={value}", APPROVER)
        assert response.status_code == 400, value
        assert response.json() == {"detail": PAST_DUE_MESSAGE}
    assert api.post(sj_url(late, "approve") + "?force=yes", APPROVER).status_code == 200


def test_an_immediately_request_never_needs_force(api: Api, pending: str, clock: Clock) -> None:
    clock.advance(timedelta(days=3))
    assert api.post(sj_url(pending, "approve"), APPROVER).status_code == 200


def test_the_requester_may_withdraw_their_own_request(api: Api, pending: str) -> None:
    response = api.post(sj_url(pending, "deny"), ALICE)
    assert response.status_code == 200
    assert response.json()["approval_state"] == "denied"
    assert response.json()["decided_by_user"]["id"] == "UALICE"


def test_a_dry_run_request_never_needs_approval(api: Api, services: Services) -> None:
    response = api.post(run_url(services, "testjobs.ApprovalJob"), ALICE, json={"commit": False})
    assert response.status_code == 201
    body = response.json()
    assert body["schedule"] is None and body["job_result"]["dry_run"] is True
