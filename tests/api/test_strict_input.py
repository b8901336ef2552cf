"""Typos never run jobs nor list everything: unknown keys in a run body and unknown query parameters are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.services import ScheduleInput, Services
from tests.api.conftest import GOOD_DATA, Api, request_approval
from tests.conftest import ADMIN, ALICE, APPROVER, BOB, NOW


def test_a_misspelt_schedule_key_is_refused_and_nothing_runs(api: Api, services: Services) -> None:
    before = services.listings.list_job_results(ALICE).count
    body = {"data": GOOD_DATA, "shedule": {"interval": "future", "name": "x"}}
    answer = api.post("/api/extras/jobs/testjobs.APITestJob/run/", ALICE, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"shedule": ["Unknown field; valid: data, commit, schedule."]}
    assert services.listings.list_job_results(ALICE).count == before


def test_a_flood_of_unknown_keys_is_answered_briefly(api: Api) -> None:
    body: dict[str, Any] = {f"key{i}": i for i in range(50_000)}
    answer = api.post("/api/extras/jobs/testjobs.APITestJob/run/", ALICE, json=body)
    assert answer.status_code == 400
    assert len(answer.content) < 2_000
    assert answer.json()["non_field_errors"] == ["49,990 more unknown names not listed."]


def test_unknown_query_parameters_are_refused_on_every_list(api: Api) -> None:
    for path in ("/api/extras/jobs/", "/api/extras/scheduled-jobs/", "/api/extras/job-results/"):
        answer = api.get(f"{path}?stauts=failed&limit=5", ALICE)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json() == {"stauts": ["Unknown filter field"]}
    assert api.get("/api/extras/job-results/?job=testjobs.TestPass&limit=5&offset=0", ALICE).status_code == 200


def test_job_results_filter_by_status_job_user_scheduled_job_and_dry_run(api: Api, services: Services) -> None:
    services.requests.request_job(actor=ALICE, job="testjobs.TestPass", data={})
    services.requests.request_job(actor=BOB, job="testjobs.TestPass", data={}, commit=False)
    scheduled = services.requests.request_job(
        actor=ALICE, job="testjobs.TestFail", data={},
        schedule=ScheduleInput(interval="future", name="later", start_time=NOW + timedelta(minutes=5)))
    assert scheduled.scheduled_job is not None

    def count(query: str) -> int:
        answer = api.get(f"/api/extras/job-results/?{query}", ADMIN)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["count"])

    assert count("") == 2
    assert count("status=failed") == 0  # not every result, as when the filter was ignored
    assert count("status=pending") == 2
    assert count("user=UBOB") == 1 and count("user=UALICE") == 1
    assert count("dry_run=true") == 1 and count("dry_run=false") == 1
    assert count("job_model=testjobs.TestPass") == 2 and count("job_model=testjobs.TestFail") == 0
    assert count(f"scheduled_job={scheduled.scheduled_job.id}") == 0
    bad = api.get("/api/extras/job-results/?status=broken", ADMIN)
    assert bad.status_code == 400 and "completed" in bad.json()["status"][0]


def test_scheduled_jobs_filter_by_user_interval_and_denied(api: Api, services: Services) -> None:
    services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass", data={},
        schedule=ScheduleInput(interval="hourly", name="hourly", start_time=NOW + timedelta(minutes=5)))
    denied = request_approval(services, ALICE)
    services.decisions.deny_scheduled_job(actor=APPROVER, scheduled_job_id=denied, reason="no")
    request_approval(services, ALICE)

    def ids(query: str) -> int:
        answer = api.get(f"/api/extras/scheduled-jobs/?{query}", ADMIN)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["count"])

    assert ids("") == 2
    assert ids("approval_state=denied") == 1  # denied ones are kept for the record, and listed when asked for
    assert ids("interval=hourly") == 1
    assert ids("user=UALICE") == 2 and ids("user=UBOB") == 0
    assert ids("job_model=testjobs.ApprovalJob") == 1
    bad = api.get("/api/extras/scheduled-jobs/?interval=fortnightly", ADMIN)
    assert bad.status_code == 400 and "hourly" in bad.json()["interval"][0]
