"""Lists of job results carry no log lines (each says how many it has in ``log_count``), ``?brief=true`` gives
Nautobot's brief fields, and one result's ``GET`` keeps its whole log."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Core
from bot.domain.records import LogRecord
from bot.services import Services
from storage.repositories import Repositories
from tests.api.conftest import GOOD_DATA, Api
from tests.conftest import ALICE, APPROVER, NOW

LINES = 40


def run_with_log(core: Core, services: Services, lines: int) -> str:
    """A run of APITestJob whose job wrote ``lines`` log lines (made as the executor would store them)."""
    result = services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=dict(GOOD_DATA)).job_result
    assert result is not None
    with core.db.write() as session:
        Repositories(session).job_results.add_log(result.id, [
            LogRecord(logged_at=NOW + timedelta(seconds=i), level="info", message=f"line {i} " + "x" * 200)
            for i in range(lines)
        ])
    return result.id


def test_a_list_carries_log_counts_not_log_lines(api: Api, core: Core, services: Services) -> None:
    noisy = run_with_log(core, services, LINES)
    quiet = run_with_log(core, services, 0)
    response = api.get("/api/extras/job-results/?limit=1000", APPROVER)
    assert response.status_code == 200
    results = {item["id"]: item for item in response.json()["results"]}
    assert all("log" not in item for item in results.values())
    assert (results[noisy]["log_count"], results[quiet]["log_count"]) == (LINES, 0)
    assert "line 0" not in response.text
    assert results[noisy]["status"]["value"] == "pending" and results[noisy]["user"]["id"] == "UALICE"


def test_one_result_keeps_its_whole_log(api: Api, core: Core, services: Services) -> None:
    noisy = run_with_log(core, services, LINES)
    body = api.get(f"/api/extras/job-results/{noisy}/", APPROVER).json()
    assert body["log_count"] == LINES
    assert [entry["message"].split()[1] for entry in body["log"]] == [str(i) for i in range(LINES)]


def test_brief_gives_nautobots_brief_fields(api: Api, core: Core, services: Services) -> None:
    noisy = run_with_log(core, services, LINES)
    response = api.get("/api/extras/job-results/?brief=true", APPROVER)
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert set(item) == {"id", "url", "display", "name", "created", "completed", "user", "status"}
    assert item["id"] == noisy and item["url"].endswith(f"/api/extras/job-results/{noisy}/")
