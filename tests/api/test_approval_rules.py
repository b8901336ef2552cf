"""Approval rules through the REST API: quorum, comments, expiry and past-due requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.permissions import Policy
from bot.domain.policy_file import parse_policy
from bot.services import Services
from tests.api.conftest import API_POLICY_YAML, Api, Clock, future, request_approval
from tests.conftest import APPROVER, APPROVER2, NOW

RULES = """
approval_rules:
  - jobs: ["testjobs.ApprovalJob"]
    min_approvers: 2
    expire_after: 1d
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(API_POLICY_YAML + RULES, source="API test policy")


def url(scheduled_job_id: str, action: str = "") -> str:
    return f"/api/extras/scheduled-jobs/{scheduled_job_id}/" + (f"{action}/" if action else "")


def test_approve_is_pending_until_the_second_approver_and_lists_each_approval(api: Api, services: Services) -> None:
    pending = request_approval(services)
    shown = api.get(url(pending), APPROVER).json()
    assert shown["min_approvers"] == 2 and shown["approvals"] == []
    assert shown["expires_at"] == (NOW + timedelta(days=1)).isoformat().replace("+00:00", "Z")

    first = api.post(url(pending, "approve"), APPROVER, json={"comment": "change window confirmed"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["approval_state"] == "pending" and body["approved_by_user"] is None
    assert body["approvals"] == [{"user": {"id": "UAPPROVER", "name": "UAPPROVER"}, "at": "2030-01-15T12:00:00Z",
                                  "comment": "change window confirmed", "job_version": body["job_version"]}]
    assert body["job_version"]

    again = api.post(url(pending, "approve"), APPROVER)
    assert again.status_code == 409
    assert again.json() == {"detail": "You have already approved this request; it needs another approver."}

    second = api.post(url(pending, "approve"), APPROVER2)
    assert second.status_code == 200
    assert second.json()["approval_state"] == "approved"
    assert [a["user"]["id"] for a in second.json()["approvals"]] == ["UAPPROVER", "UAPPROVER2"]
    assert api.post(url(pending, "approve"), APPROVER).status_code == 409


def test_one_denial_after_one_approval_denies_with_its_comment(api: Api, services: Services) -> None:
    pending = request_approval(services)
    assert api.post(url(pending, "approve"), APPROVER).json()["approval_state"] == "pending"
    denied = api.post(url(pending, "deny"), APPROVER2, json={"comment": "not during the freeze"})
    assert denied.status_code == 200
    assert denied.json()["approval_state"] == "denied"
    assert denied.json()["decision_reason"] == "not during the freeze"


def test_a_decision_on_an_expired_request_is_refused_with_409(api: Api, services: Services, clock: Clock) -> None:
    pending = request_approval(services)
    clock.advance(timedelta(days=1))
    for action, user in (("approve", APPROVER), ("deny", APPROVER2)):
        refused = api.post(url(pending, action), user)
        assert refused.status_code == 409
        assert refused.json() == {"detail": "This request has expired: nobody decided on it in time, and it will not "
                                            "run."}


def test_a_past_due_request_needs_force_on_every_approval(api: Api, services: Services, clock: Clock) -> None:
    pending = request_approval(services, schedule=future(5))
    clock.advance(timedelta(minutes=10))
    assert api.post(url(pending, "approve"), APPROVER).status_code == 400
    assert api.post(url(pending, "approve") + "?force=true", APPROVER).json()["approval_state"] == "pending"
    assert api.post(url(pending, "approve"), APPROVER2).status_code == 400
    assert api.post(url(pending, "approve") + "?force=true", APPROVER2).json()["approval_state"] == "approved"


@pytest.mark.parametrize(("body", "expected"), [
    ({"coment": "typo"}, {"coment": ["Unknown field; expected 'comment'."]}),
    ({"comment": 5}, {"comment": ["Not a valid string."]}),
    ({"comment": "x" * 2001}, {"comment": ["Ensure this value has at most 2000 characters."]}),
])
def test_a_bad_approve_body_is_refused_naming_the_field(api: Api, services: Services, body: object,
                                                        expected: object) -> None:
    pending = request_approval(services)
    refused = api.post(url(pending, "approve"), APPROVER, json=body)
    assert refused.status_code == 400
    assert refused.json() == expected
    assert api.get(url(pending), APPROVER).json()["approvals"] == []


def test_expired_is_a_filter_value(api: Api, services: Services) -> None:
    request_approval(services)
    listed = api.get("/api/extras/scheduled-jobs/?approval_state=expired", APPROVER)
    assert listed.status_code == 200
    assert listed.json()["count"] == 0
