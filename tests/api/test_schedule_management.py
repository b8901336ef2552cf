"""Ending, pausing and resuming a scheduled job through the REST API, with the rules of `/jobs cancel|pause|resume`."""

from __future__ import annotations

from datetime import timedelta

from bot.services import ScheduleInput, Services
from tests.api.conftest import Api
from tests.conftest import ALICE, APPROVER, BOB, NOW

BASE = "/api/extras/scheduled-jobs"


def hourly(services: Services) -> str:
    outcome = services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass", data={},
        schedule=ScheduleInput(interval="hourly", name="every hour", start_time=NOW + timedelta(minutes=5)),
    )
    assert outcome.scheduled_job is not None
    return outcome.scheduled_job.id


def test_delete_ends_a_scheduled_job_and_keeps_it_for_the_record(api: Api, services: Services) -> None:
    scheduled = hourly(services)
    refused = api.client.delete(f"{BASE}/{scheduled}/", headers=api.headers(BOB))
    assert refused.status_code == 403, refused.text  # neither the requester nor allowed to delete scheduled jobs
    answer = api.client.delete(f"{BASE}/{scheduled}/", headers=api.headers(ALICE))
    assert answer.status_code == 204, answer.text
    kept = api.get(f"{BASE}/{scheduled}/", ALICE).json()
    assert kept["enabled"] is False
    assert scheduled not in [row["id"] for row in api.get(f"{BASE}/", ALICE).json()["results"]]
    again = api.client.delete(f"{BASE}/{scheduled}", headers=api.headers(ALICE))
    assert again.status_code == 409 and "detail" in again.json()


def test_pause_and_resume_through_the_api(api: Api, services: Services) -> None:
    scheduled = hourly(services)
    paused = api.post(f"{BASE}/{scheduled}/pause/", APPROVER)  # change_scheduledjob, not the requester
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    assert api.post(f"{BASE}/{scheduled}/pause/", ALICE).status_code == 409
    resumed = api.post(f"{BASE}/{scheduled}/resume", ALICE)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["paused"] is False
    assert api.post(f"{BASE}/{scheduled}/resume/", BOB).status_code == 403
