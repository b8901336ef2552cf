"""The permission matrix: every REST endpoint x (anonymous, no permission, constrained to another job, permitted,
requester), on a real database.

The target of every call is ALICE's: her pending request to run ``testjobs.ApprovalJob``, that job, and the result of
her run of ``testjobs.APITestJob``. "Constrained" is CONSTRAINED, who holds every permission but only for other jobs
(TestPass, TestFail, ConstrainedApprovalJob). "Permitted" is BOB (netops) for jobs and runs, APPROVER for scheduled
jobs, decisions and results. Lists answer 200 to anyone authenticated and show only what the caller may see, so for
them the matrix says whether the target is listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.domain.permissions import Actor
from bot.services import Services
from tests.api.conftest import CONSTRAINED, GOOD_DATA, Api, job_id, request_approval
from tests.conftest import ALICE, APPROVER, BOB, NOBODY

ANONYMOUS = None
ROLES = {"anonymous": ANONYMOUS, "no permission": NOBODY, "constrained to another job": CONSTRAINED,
         "requester": ALICE}


@dataclass(frozen=True)
class Targets:
    job_id: str
    scheduled_job_id: str
    job_result_id: str


@pytest.fixture
def targets(services: Services) -> Targets:
    result = services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=dict(GOOD_DATA)).job_result
    assert result is not None
    return Targets(
        job_id=job_id(services, "testjobs.ApprovalJob"),
        scheduled_job_id=request_approval(services, ALICE),
        job_result_id=result.id,
    )


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permitted: Actor
    # expected status per role; for lists, True/False says whether the target is listed (status 200)
    expected: dict[str, int | bool]


ENDPOINTS = {
    "list jobs": Endpoint("GET", "/api/extras/jobs/", BOB, {
        "anonymous": 403, "no permission": False, "constrained to another job": False, "permitted": True,
        "requester": True}),
    "get job": Endpoint("GET", "/api/extras/jobs/{job}/", BOB, {
        "anonymous": 403, "no permission": 404, "constrained to another job": 404, "permitted": 200,
        "requester": 200}),
    "run job": Endpoint("POST", "/api/extras/jobs/{job}/run/", BOB, {
        "anonymous": 403, "no permission": 403, "constrained to another job": 404, "permitted": 201,
        "requester": 201}),
    "list scheduled jobs": Endpoint("GET", "/api/extras/scheduled-jobs/", APPROVER, {
        "anonymous": 403, "no permission": False, "constrained to another job": False, "permitted": True,
        "requester": True}),
    "get scheduled job": Endpoint("GET", "/api/extras/scheduled-jobs/{scheduled_job}/", APPROVER, {
        "anonymous": 403, "no permission": 404, "constrained to another job": 404, "permitted": 200,
        "requester": 200}),
    "approve": Endpoint("POST", "/api/extras/scheduled-jobs/{scheduled_job}/approve/", APPROVER, {
        "anonymous": 403, "no permission": 403, "constrained to another job": 403, "permitted": 200,
        "requester": 403}),
    "deny": Endpoint("POST", "/api/extras/scheduled-jobs/{scheduled_job}/deny/", APPROVER, {
        "anonymous": 403, "no permission": 403, "constrained to another job": 403, "permitted": 200,
        "requester": 200}),
    "dry-run": Endpoint("POST", "/api/extras/scheduled-jobs/{scheduled_job}/dry-run/", APPROVER, {
        "anonymous": 403, "no permission": 403, "constrained to another job": 403, "permitted": 200,
        "requester": 200}),
    "list job results": Endpoint("GET", "/api/extras/job-results/", APPROVER, {
        "anonymous": 403, "no permission": False, "constrained to another job": False, "permitted": True,
        "requester": True}),
    "get job result": Endpoint("GET", "/api/extras/job-results/{job_result}/", APPROVER, {
        "anonymous": 403, "no permission": 404, "constrained to another job": 404, "permitted": 200,
        "requester": 200}),
}

CASES = [(name, role) for name in ENDPOINTS for role in (*ROLES, "permitted")]


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_permission_matrix(api: Api, services: Services, targets: Targets, endpoint: str, role: str) -> None:
    spec = ENDPOINTS[endpoint]
    user = spec.permitted if role == "permitted" else ROLES[role]
    path = spec.path.format(job=targets.job_id, scheduled_job=targets.scheduled_job_id,
                            job_result=targets.job_result_id)
    response = api.get(path, user) if spec.method == "GET" else api.post(path, user, json={})
    expected = spec.expected[role]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if isinstance(expected, bool):
        assert response.status_code == 200, body
        ids = {item["id"] for item in body["results"]}
        target = {"list jobs": targets.job_id, "list scheduled jobs": targets.scheduled_job_id,
                  "list job results": targets.job_result_id}[endpoint]
        assert (target in ids) is expected
        return
    assert response.status_code == expected, body
    if expected >= 400:
        assert isinstance(body["detail"], str) and body["detail"]
    if role == "anonymous":
        assert body == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_bad_token_is_refused_everywhere(api: Api, targets: Targets, endpoint: str) -> None:
    spec = ENDPOINTS[endpoint]
    path = spec.path.format(job=targets.job_id, scheduled_job=targets.scheduled_job_id,
                            job_result=targets.job_result_id)
    headers = {"Authorization": "Token 0123456789abcdef0123456789abcdef01234567"}
    response = api.client.request(spec.method, path, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}

