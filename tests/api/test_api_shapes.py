"""What every client relies on: Nautobot 1.6's shapes, pagination, filters, trailing slashes, the Accept header,
authentication messages, JSON errors (404, 405, 500) and the OpenAPI document."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.app import build_app, build_core
from bot.config import Settings
from bot.domain.permissions import Policy
from bot.domain.records import LogRecord
from bot.domain.results import JobResultStatus
from bot.services import ScheduleInput, Services
from handlers.api import install
from storage.db import Database
from storage.repositories import Repositories
from tests.api.conftest import GOOD_DATA, Api, Clock, future, job_id, request_approval
from tests.conftest import ADMIN, ALICE, APPROVER, BOB, NOW

SCHEDULED_JOB_FIELDS = {
    "id", "url", "display", "name", "description", "job_model", "user", "interval", "start_time", "crontab",
    "time_zone", "data", "commit", "approval_required", "approval_state", "approved_by_user", "approved_at",
    "decided_by_user", "decided_at", "decision_reason", "enabled", "paused", "end_reason", "ended_at", "next_run_at",
    "last_run_at", "total_run_count", "created", "min_approvers", "approvals", "expires_at", "job_version",
    "approved_job_version", "reason",
}
JOB_RESULT_FIELDS = {
    "id", "url", "display", "name", "job_model", "user", "approved_by_user", "status", "dry_run", "created",
    "started", "completed", "scheduled_job", "scheduled_for", "error", "output", "log_count", "log",
}
JOB_FIELDS = {
    "id", "url", "display", "slug", "name", "description", "grouping", "module_name", "job_class_name", "enabled",
    "installed", "approval_required", "has_sensitive_variables", "hidden", "soft_time_limit", "time_limit",
    "variables",
}
ROUTES = [
    ("GET", "/api/extras/jobs/"), ("GET", "/api/extras/jobs/{job}/"), ("POST", "/api/extras/jobs/{job}/run/"),
    ("GET", "/api/extras/scheduled-jobs/"), ("GET", "/api/extras/scheduled-jobs/{sj}/"),
    ("POST", "/api/extras/scheduled-jobs/{sj}/dry-run/"), ("POST", "/api/extras/scheduled-jobs/{sj}/approve/"),
    ("GET", "/api/extras/job-results/"), ("GET", "/api/extras/job-results/{result}/"),
]


def zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------------ shapes


def test_jobs_are_shown_with_nautobots_fields_and_found_by_uuid_slug_or_name(api: Api, services: Services) -> None:
    listed = api.get("/api/extras/jobs/", ALICE).json()
    job = next(item for item in listed["results"] if item["slug"] == "testjobs.APITestJob")
    assert set(job) == JOB_FIELDS
    assert job["name"] == "API test job" and job["display"] == "API test job"
    assert job["module_name"] == "testjobs" and job["job_class_name"] == "APITestJob"
    assert job["enabled"] and job["installed"] and not job["approval_required"] and not job["has_sensitive_variables"]
    assert set(job["variables"]) == {"var1", "var2", "var3", "var4"}
    assert job["variables"]["var4"]["type"] == "ChoiceVar"
    for ident in (job["id"], "testjobs.APITestJob", "API%20test%20job"):
        assert api.get(f"/api/extras/jobs/{ident}/", ALICE).json() == job
    assert job["url"] == f"http://testserver/api/extras/jobs/{job['id']}/"


def test_scheduled_jobs_show_the_contract_fields(api: Api, services: Services) -> None:
    request_id = request_approval(services, ALICE, schedule=ScheduleInput(
        interval="daily", name="nightly", start_time=datetime(2030, 2, 1, 9, 0), time_zone="Europe/Berlin"))
    body = api.get(f"/api/extras/scheduled-jobs/{request_id}/", APPROVER).json()
    assert set(body) == SCHEDULED_JOB_FIELDS
    assert body["user"] == {"id": "UALICE", "name": "UALICE"}
    assert body["job_model"] == {
        "id": job_id(services, "testjobs.ApprovalJob"),
        "url": f"http://testserver/api/extras/jobs/{job_id(services, 'testjobs.ApprovalJob')}/",
        "slug": "testjobs.ApprovalJob", "name": "Approval job", "display": "Approval job",
    }
    assert body["interval"] == "daily" and body["time_zone"] == "Europe/Berlin"
    assert body["start_time"] == "2030-02-01T08:00:00Z"  # 09:00 in Berlin
    assert body["description"] == "Daily at 09:00 (Europe/Berlin)"
    assert body["approval_state"] == "pending" and body["approval_required"] is True
    assert body["next_run_at"] is None and body["last_run_at"] is None and body["total_run_count"] == 0
    approved = api.post(f"/api/extras/scheduled-jobs/{request_id}/approve/", APPROVER).json()
    assert approved["next_run_at"] == "2030-02-01T08:00:00Z"
    assert approved["approved_by_user"] == approved["decided_by_user"] == {"id": "UAPPROVER", "name": "UAPPROVER"}


def test_a_scheduled_job_shows_the_code_version_requested_and_approved(api: Api, services: Services,
                                                                       jobs_dir: Path) -> None:
    version = hashlib.sha256((jobs_dir / "testjobs.py").read_bytes()).hexdigest()
    request_id = request_approval(services, ALICE, schedule=future())
    body = api.get(f"/api/extras/scheduled-jobs/{request_id}/", APPROVER).json()
    assert body["job_version"] == version and body["approved_job_version"] is None
    approved = api.post(f"/api/extras/scheduled-jobs/{request_id}/approve/", APPROVER).json()
    assert approved["job_version"] == approved["approved_job_version"] == version


def test_job_results_show_status_timestamps_and_log(database: Database, api: Api, services: Services) -> None:
    response = api.post(f"/api/extras/jobs/{job_id(services, 'testjobs.APITestJob')}/run/", ALICE,
                        json={"data": GOOD_DATA})
    result_id = response.json()["job_result"]["id"]
    with database.write() as session:
        repos = Repositories(session)
        repos.job_results.add_log(result_id, [
            LogRecord(logged_at=NOW + timedelta(seconds=1), level="info", message="var1=x commit=True", obj=None),
            LogRecord(logged_at=NOW + timedelta(seconds=2), level="success", message="done", obj="core-1"),
        ])
        [claimed] = repos.job_results.claim(runner_id="a-runner", clock=lambda: NOW, lease=timedelta(minutes=1),
                                            limit=10)
        assert claimed.id == result_id
        assert repos.job_results.complete(result_id, runner_id="a-runner", status=JobResultStatus.COMPLETED,
                                          now=NOW + timedelta(seconds=3))
    body = api.get(f"/api/extras/job-results/{result_id}", ALICE).json()
    assert set(body) == JOB_RESULT_FIELDS
    assert body["status"] == {"value": "completed", "label": "Completed"}
    assert body["created"] == zulu(NOW) and body["started"] == zulu(NOW)
    assert body["completed"] == zulu(NOW + timedelta(seconds=3))
    assert body["log"] == [
        {"created": zulu(NOW + timedelta(seconds=1)), "log_level": "info", "log_object": None,
         "message": "var1=x commit=True"},
        {"created": zulu(NOW + timedelta(seconds=2)), "log_level": "success", "log_object": "core-1",
         "message": "done"},
    ]
    assert body["log_count"] == 2
    listed = api.get("/api/extras/job-results/", ALICE).json()
    assert listed["results"] == [{key: value for key, value in body.items() if key != "log"}]


def test_run_answers_201_with_exactly_one_of_schedule_and_job_result(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.TestPass')}/run/"
    now = api.post(url, ALICE, json={}).json()
    later = api.post(url, ALICE, json={"schedule": {"name": "l", "interval": "future",
                                                     "start_time": "2030-01-15T13:00:00Z"}}).json()
    for body in (now, later):
        assert set(body) == {"schedule", "job_result"}
        assert (body["schedule"] is None) != (body["job_result"] is None)
    assert set(later["schedule"]) == SCHEDULED_JOB_FIELDS and set(now["job_result"]) == JOB_RESULT_FIELDS


def test_a_run_request_says_why_and_the_scheduled_job_shows_it(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.ApprovalJob')}/run/"
    response = api.post(url, ALICE, json={"schedule": {"interval": "immediately",
                                                        "reason": "  Firmware fix <for> INC-42 & friends  "}})
    assert response.status_code == 201, response.text
    created = response.json()["schedule"]
    assert created["reason"] == "Firmware fix <for> INC-42 & friends"
    shown = api.get(f"/api/extras/scheduled-jobs/{created['id']}/", APPROVER).json()
    assert shown["reason"] == "Firmware fix <for> INC-42 & friends"
    without = api.post(url, ALICE, json={"schedule": {"interval": "immediately", "reason": "   "}}).json()
    assert without["schedule"]["reason"] is None


def test_a_reason_over_500_characters_is_refused_under_schedule(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.ApprovalJob')}/run/"
    response = api.post(url, ALICE, json={"schedule": {"interval": "immediately", "reason": "x" * 501}})
    assert response.status_code == 400
    assert response.json() == {"schedule": {"reason": ["Ensure this field has no more than 500 characters."]}}
    assert api.get("/api/extras/scheduled-jobs/", APPROVER).json()["count"] == 0
    wrong_type = api.post(url, ALICE, json={"schedule": {"interval": "immediately", "reason": ["a"]}})
    assert wrong_type.status_code == 400
    assert wrong_type.json() == {"schedule": {"reason": ["Not a valid string."]}}


def test_a_start_time_without_offset_is_read_in_the_schedule_zone_or_the_default(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.TestPass')}/run/"
    berlin = api.post(url, ALICE, json={"schedule": {"name": "b", "interval": "future", "time_zone": "Europe/Berlin",
                                                      "start_time": "2030-06-01 09:00"}}).json()["schedule"]
    assert berlin["start_time"] == "2030-06-01T07:00:00Z" and berlin["time_zone"] == "Europe/Berlin"
    default = api.post(url, ALICE, json={"schedule": {"name": "d", "interval": "future",
                                                       "start_time": "2030-06-01T09:00"}}).json()["schedule"]
    assert default["start_time"] == "2030-06-01T09:00:00Z" and default["time_zone"] == "UTC"
    offset = api.post(url, ALICE, json={"schedule": {"name": "o", "interval": "future", "time_zone": "Asia/Tokyo",
                                                      "start_time": "2030-06-01T09:00+02:00"}}).json()["schedule"]
    assert offset["start_time"] == "2030-06-01T07:00:00Z" and offset["time_zone"] == "Asia/Tokyo"


def test_commit_false_is_a_dry_run_now(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.APITestJob')}/run/"
    body = api.post(url, ALICE, json={"data": GOOD_DATA, "commit": False}).json()
    assert body["schedule"] is None and body["job_result"]["dry_run"] is True


# ------------------------------------------------------------------------------------------ lists and filters


def test_pagination_gives_absolute_next_and_previous_links(api: Api, services: Services) -> None:
    ids = [request_approval(services, ALICE, schedule=future(10 + n, name=f"r{n}")) for n in range(5)]
    first = api.get("/api/extras/scheduled-jobs/?approval_state=pending&limit=2", APPROVER).json()
    assert first["count"] == 5 and first["previous"] is None
    assert [item["id"] for item in first["results"]] == ids[:2]
    following = urlsplit(first["next"])
    assert following.scheme == "http" and following.netloc == "testserver"
    assert following.path == "/api/extras/scheduled-jobs/"
    assert parse_qs(following.query) == {"approval_state": ["pending"], "limit": ["2"], "offset": ["2"]}
    second = api.get(first["next"], APPROVER).json()
    assert [item["id"] for item in second["results"]] == ids[2:4]
    assert parse_qs(urlsplit(second["previous"]).query) == {"approval_state": ["pending"], "limit": ["2"]}
    third = api.get(second["next"], APPROVER).json()
    assert [item["id"] for item in third["results"]] == ids[4:] and third["next"] is None
    assert parse_qs(urlsplit(third["previous"]).query)["offset"] == ["2"]


def test_scheduled_jobs_filter_by_job_uuid_slug_or_name_and_approval_state(api: Api, services: Services) -> None:
    pending = request_approval(services, ALICE)
    other = services.requests.request_job(actor=ALICE, job="testjobs.TestPass", schedule=future(30, name="other"))
    assert other.scheduled_job is not None
    for ident in (job_id(services, "testjobs.ApprovalJob"), "testjobs.ApprovalJob", "Approval job"):
        listed = api.get("/api/extras/scheduled-jobs/", APPROVER, params={"job": ident}).json()
        assert [item["id"] for item in listed["results"]] == [pending]
    not_required = api.get("/api/extras/scheduled-jobs/?approval_state=not_required", APPROVER).json()
    assert [item["id"] for item in not_required["results"]] == [other.scheduled_job.id]
    api.post(f"/api/extras/scheduled-jobs/{pending}/deny/", APPROVER)
    denied = api.get("/api/extras/scheduled-jobs/?approval_state=denied", APPROVER).json()
    assert [item["id"] for item in denied["results"]] == [pending]  # kept for the record, listed when asked for


def test_job_results_filter_by_job(api: Api, services: Services) -> None:
    for slug in ("testjobs.TestPass", "testjobs.TestFail", "testjobs.TestPass"):
        api.post(f"/api/extras/jobs/{job_id(services, slug)}/run/", ALICE, json={})
    for ident in ("testjobs.TestPass", "Test pass", job_id(services, "testjobs.TestPass")):
        listed = api.get("/api/extras/job-results/", ALICE, params={"job": ident}).json()
        assert listed["count"] == 2
        assert {item["job_model"]["slug"] for item in listed["results"]} == {"testjobs.TestPass"}


# --------------------------------------------------------------------------------------- paths and headers


@pytest.mark.parametrize(("method", "template"), ROUTES)
def test_the_trailing_slash_is_optional(api: Api, services: Services, method: str, template: str) -> None:
    result = services.requests.request_job(actor=ALICE, job="testjobs.TestPass").job_result
    assert result is not None
    for slash in ("/", ""):
        path = template.format(job=job_id(services, "testjobs.TestPass"), sj=request_approval(services, ALICE),
                               result=result.id)
        variant = path if slash else path.rstrip("/")
        response = api.client.request(method, variant, headers=api.headers(APPROVER), json={} if method == "POST"
                                      else None)
        assert response.status_code in (200, 201), (variant, response.text)


def test_deny_without_slash_too(api: Api, services: Services) -> None:
    request_id = request_approval(services, ALICE)
    response = api.post(f"/api/extras/scheduled-jobs/{request_id}/deny", APPROVER)
    assert response.status_code == 200 and response.json()["approval_state"] == "denied"


def test_the_accept_header_with_version_and_indent_is_honoured(api: Api, services: Services) -> None:
    headers = {"Accept": "application/json; version=1.3; indent=4"}
    response = api.get(f"/api/extras/jobs/{job_id(services, 'testjobs.TestPass')}/", ALICE, headers=headers)
    assert response.status_code == 200
    assert response.text.startswith('{\n    "id": ')
    assert response.headers["content-type"] == "application/json"
    assert response.headers["api-version"] == "1.3"
    error = api.get("/api/extras/jobs/nope.Nope/", ALICE, headers=headers)
    assert error.status_code == 404 and error.text.startswith('{\n    "detail": ')
    compact = api.get(f"/api/extras/jobs/{job_id(services, 'testjobs.TestPass')}/", ALICE,
                      headers={"Accept": "application/json; indent=nonsense"})
    assert "\n" not in compact.text


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer abc", "Authentication credentials were not provided."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token abc def", "Invalid token header. Token string should not contain spaces."),
        ("Token 0123456789abcdef", "Invalid token."),
    ],
)
def test_authentication_failures_are_403_with_drfs_messages(api: Api, authorization: str | None, detail: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = api.client.get("/api/extras/jobs/", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": detail}


def test_the_token_keyword_is_case_insensitive(api: Api) -> None:
    response = api.client.get("/api/extras/jobs/", headers={"Authorization": f"token {api.tokens['UALICE']}"})
    assert response.status_code == 200


def test_authentication_comes_before_reading_the_body(api: Api, services: Services) -> None:
    url = f"/api/extras/jobs/{job_id(services, 'testjobs.TestPass')}/run/"
    response = api.client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 403


# ------------------------------------------------------------------------------------------------------ errors


def test_unknown_api_paths_are_404_json(api: Api) -> None:
    for path in ("/api/", "/api/nothing", "/api/extras/widgets/", "/api/extras/jobs/x/y/z/"):
        response = api.get(path, ALICE)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_a_wrong_method_is_405_json(api: Api, services: Services) -> None:
    request_id = request_approval(services, ALICE)
    for method, path in (("PUT", "/api/extras/jobs/"), ("PUT", f"/api/extras/scheduled-jobs/{request_id}/"),
                         ("GET", f"/api/extras/scheduled-jobs/{request_id}/approve/"),
                         ("PATCH", "/api/extras/job-results")):
        response = api.client.request(method, path, headers=api.headers(ADMIN))
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
        assert response.headers["allow"]


def test_paths_outside_the_api_keep_their_own_answers(api: Api) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/no-such-page").json() == {"detail": "Not Found"}


def test_an_unexpected_error_is_a_logged_500_without_internals(
    app: FastAPI, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/api/extras/explode/", explode)
    with caplog.at_level(logging.ERROR, logger="handlers.api"):
        response = api.get("/api/extras/explode/", ALICE)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert "hunter2" not in response.text
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


def test_an_unreachable_database_is_a_503_json_with_retry_after(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1
    settings = Settings(database_url=unreachable)
    db = Database.from_url(unreachable)
    core = build_core(settings, db=db, policy=Policy.empty(), migrate=False)
    app = build_app(settings=settings, services=core.services, db=db, installers=(install,))
    with TestClient(app) as client, caplog.at_level(logging.WARNING, logger="handlers.api"):
        response = client.get("/api/extras/job-results/", headers={"Authorization": "Token " + "0" * 40})
    db.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "jobgate cannot reach its database; retry shortly."}
    assert "127.0.0.1" not in response.text
    assert any("127.0.0.1" in record.getMessage() for record in caplog.records)  # the cause is in the log


# -------------------------------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_describes_every_endpoint_and_its_bodies(api: Api) -> None:
    schema = api.client.get("/api/schema/").json()
    paths = schema["paths"]
    for method, template in [*ROUTES, ("POST", "/api/extras/scheduled-jobs/{sj}/deny/")]:
        path = template.format(job="{id}", sj="{id}", result="{id}")
        operation = paths[path][method.lower()]
        assert "422" not in operation["responses"]
        assert "403" in operation["responses"]
        assert operation["security"] == [{"TokenAuth": []}]
    run = paths["/api/extras/jobs/{id}/run/"]["post"]
    assert run["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RunRequestIn"}
    assert "201" in run["responses"]
    components = schema["components"]["schemas"]
    assert set(components["RunRequestIn"]["properties"]) == {"data", "commit", "schedule"}
    assert set(components["ScheduleIn"]["properties"]) == {"name", "interval", "start_time", "crontab", "time_zone",
                                                           "reason"}
    assert set(components["ScheduledJobOut"]["properties"]) == SCHEDULED_JOB_FIELDS
    assert set(components["JobResultOut"]["properties"]) == JOB_RESULT_FIELDS
    assert not [path for path in paths if path.startswith("/api/") and not path.endswith("/")]
    assert api.client.get("/api/docs/").status_code == 200


# ----------------------------------------------------------------------------- the documentation's examples


def test_the_documentation_examples_work_in_process(api: Api, services: Services, clock: Clock) -> None:
    """The two curl examples of Nautobot's "Job Scheduling and Approvals" page (the subprocess test runs them with
    curl); the clock is set before their start time, 2030-01-01 01:00 UTC."""
    clock.now = datetime(2029, 12, 1, tzinfo=UTC)
    headers = {"Content-Type": "application/json", "Accept": "application/json; version=1.3; indent=4"}
    job = job_id(services, "apijobs.SchedulingExampleJob")
    created = api.post(
        f"/api/extras/jobs/{job}/run/", BOB, headers=headers,
        content=b'{"data": {"string_variable": "an arbitrary string", "integer_variable": 5}, "schedule": '
                b'{"name": "test", "interval": "future", "start_time": "2030-01-01T01:00:00.000Z"}}',
    )
    assert created.status_code == 201, created.text
    scheduled = created.json()["schedule"]
    assert scheduled["start_time"] == "2030-01-01T01:00:00Z" and scheduled["approval_state"] == "pending"
    approved = api.post(f"/api/extras/scheduled-jobs/{scheduled['id']}/approve?force=true", APPROVER, headers=headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval_state"] == "approved"
    assert approved.json()["next_run_at"] == "2030-01-01T01:00:00Z"
