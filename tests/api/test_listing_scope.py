"""What the REST API's lists show: a requester always sees their own requests and runs, and a job named in a
``?job=`` filter that the caller may not see is not found, exactly as one that does not exist."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Actor, Policy
from bot.domain.policy_file import parse_policy
from bot.services import Services
from tests.api.conftest import API_POLICY_YAML, CONSTRAINED, GOOD_DATA, Api, request_approval
from tests.conftest import ALICE, APPROVER, NOBODY, OWNER, OWNER_RULES

OWNER_POLICY = API_POLICY_YAML + OWNER_RULES


@pytest.fixture
def policy() -> Policy:
    return parse_policy(OWNER_POLICY, source="listing scope policy")


@pytest.fixture
def owner_token(services: Services) -> str:
    return services.tokens.create_api_token(user_id=OWNER.user_id, description="tests")


def ids_listed(api: Api, path: str, token: str) -> set[str]:
    response = api.client.get(path, headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["results"]}


def test_a_requester_sees_their_own_request_outside_their_view_permission(api: Api, services: Services,
                                                                          owner_token: str) -> None:
    mine = request_approval(services, OWNER, job="testjobs.ApprovalJob")
    someone_elses = request_approval(services, ALICE, job="testjobs.ApprovalJob")
    assert api.client.get(f"/api/extras/scheduled-jobs/{mine}/",
                          headers={"Authorization": f"Token {owner_token}"}).status_code == 200
    for query in ("", "?approval_state=pending", "?job=testjobs.ApprovalJob"):
        listed = ids_listed(api, f"/api/extras/scheduled-jobs/{query}", owner_token)
        assert mine in listed, query
        assert someone_elses not in listed, query


def test_a_requester_sees_their_own_runs_outside_their_view_permission(api: Api, services: Services,
                                                                       owner_token: str) -> None:
    mine = services.requests.request_job(actor=OWNER, job="testjobs.APITestJob", data=dict(GOOD_DATA)).job_result
    theirs = services.requests.request_job(actor=ALICE, job="testjobs.APITestJob", data=dict(GOOD_DATA)).job_result
    assert mine is not None and theirs is not None
    for query in ("", "?job=testjobs.APITestJob"):
        listed = ids_listed(api, f"/api/extras/job-results/{query}", owner_token)
        assert mine.id in listed and theirs.id not in listed, query


LISTS = ["/api/extras/scheduled-jobs/", "/api/extras/scheduled-jobs/?approval_state=pending&",
         "/api/extras/job-results/"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(("user", "hidden"), [(NOBODY, "testjobs.ApprovalJob"), (NOBODY, "Test pass"),
                                              (CONSTRAINED, "testjobs.ApprovalJob")])
def test_a_hidden_job_in_a_filter_is_not_found_like_a_missing_one(api: Api, services: Services, path: str,
                                                                  user: Actor, hidden: str) -> None:
    request_approval(services, ALICE, job="testjobs.ApprovalJob")
    separator = "" if path.endswith("&") else "?"
    answers = {}
    for name in (hidden, "no.SuchJob"):
        response = api.get(f"{path}{separator}job={name}", user)
        answers[name] = (response.status_code, response.json())
    assert answers[hidden] == (404, {"detail": f"Job {hidden!r} not found."})
    assert answers["no.SuchJob"] == (404, {"detail": "Job 'no.SuchJob' not found."})


@pytest.mark.parametrize("path", LISTS)
def test_a_visible_job_in_a_filter_still_narrows_the_list(api: Api, services: Services, path: str) -> None:
    pending = request_approval(services, ALICE, job="testjobs.ApprovalJob")
    separator = "" if path.endswith("&") else "?"
    response = api.get(f"{path}{separator}job=testjobs.ApprovalJob", APPROVER)
    assert response.status_code == 200
    if "scheduled-jobs" in path:
        assert [item["id"] for item in response.json()["results"]] == [pending]
