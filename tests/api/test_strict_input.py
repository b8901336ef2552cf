"""Typos never run jobs nor list everything: unknown keys in a run body and unknown query parameters are refused."""

from __future__ import annotations

from typing import Any

from bot.services import Services
from tests.api.conftest import GOOD_DATA, Api
from tests.conftest import ALICE


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
