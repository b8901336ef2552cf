"""Fixtures for the REST API tests: the real app (``build_app`` with the API installed) over the real services on a
real database, a token for every test user, a clock the tests can move, and a policy that adds a user whose
permissions are constrained to other jobs. Nothing of jobgate's own is mocked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.app import Core, build_app
from bot.config import Settings
from bot.domain.permissions import Actor, Policy
from bot.domain.policy_file import parse_policy
from bot.services import ScheduleInput, Services
from handlers.api import install
from storage.db import Database
from tests.conftest import ADMIN, ALICE, APPROVER, APPROVER2, BOB, NOBODY, NOW, POLICY_YAML, VIEWER, build_test_core

CONSTRAINED = Actor(user_id="UCONSTRAINED")
"""Runs, approves and manages scheduled jobs and results, but only of TestPass, TestFail and ConstrainedApprovalJob."""
SCHEDULER = Actor(user_id="USCHEDULER")
"""Views, changes and deletes scheduled jobs, but may not approve (Nautobot's view+change / view+delete users)."""
APPROVE_ONLY = Actor(user_id="UAPPROVEONLY")
"""May approve jobs and view scheduled jobs, but neither change nor delete them."""

USERS = (ADMIN, ALICE, BOB, APPROVER, APPROVER2, NOBODY, VIEWER, CONSTRAINED, SCHEDULER, APPROVE_ONLY)

API_JOBS = '''
"""Jobs only the REST API tests use."""

from bot.jobs import IntegerVar, Job, StringVar


class ConstrainedApprovalJob(Job):
    class Meta:
        name = "Constrained approval job"
        approval_required = True
        has_sensitive_variables = False

    def run(self, data, commit):
        self.log_info(message="ran")


class SchedulingExampleJob(Job):
    """The job of Nautobot's "Job Scheduling and Approvals" page (its curl example's variables)."""

    class Meta:
        name = "Scheduling example job"
        approval_required = True
        has_sensitive_variables = False

    string_variable = StringVar()
    integer_variable = IntegerVar()

    def run(self, data, commit):
        self.log_info(message=f"{data['string_variable']} {data['integer_variable']}")
'''

API_POLICY_YAML = (
    POLICY_YAML
    + """
  - name: constrained may run and approve three jobs
    actions: [run, view, approve]
    object_types: [extras.job]
    users: [UCONSTRAINED]
    jobs: ["testjobs.TestPass", "Test fail", "apijobs.ConstrainedApprovalJob"]
  - name: constrained manages the schedules and results of three jobs
    actions: [view, change, delete]
    object_types: [extras.scheduledjob, extras.jobresult]
    users: [UCONSTRAINED]
    jobs: ["testjobs.TestPass", "Test fail", "apijobs.ConstrainedApprovalJob"]
  - name: scheduler manages scheduled jobs but does not approve
    actions: [view, change, delete]
    object_types: [extras.scheduledjob]
    users: [USCHEDULER]
  - name: scheduler sees jobs
    actions: [view]
    object_types: [extras.job]
    users: [USCHEDULER, UAPPROVEONLY]
  - name: approve-only approves and views scheduled jobs
    actions: [approve]
    object_types: [extras.job]
    users: [UAPPROVEONLY]
  - name: approve-only views scheduled jobs
    actions: [view]
    object_types: [extras.scheduledjob]
    users: [UAPPROVEONLY]
"""
)

GOOD_DATA: dict[str, Any] = {"var1": "x", "var2": 1, "var3": False, "var4": "role-a"}


class Clock:
    """The services' clock: fixed at ``NOW`` until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def jobs_dir(jobs_dir: Path) -> Path:
    """The shared test jobs plus ``apijobs`` (an approval job inside CONSTRAINED's constraint, Nautobot's example)."""
    (jobs_dir / "apijobs.py").write_text(API_JOBS)
    return jobs_dir


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def policy() -> Policy:
    return parse_policy(API_POLICY_YAML, source="API test policy")


@pytest.fixture
def core(database: Database, settings: Settings, policy: Policy, clock: Clock) -> Core:
    """The real parts with the test jobs synced and enabled, on the movable clock."""
    return build_test_core(database, settings, policy, clock=clock)


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    """A REST API token for every test user, by Slack user ID."""
    return {user.user_id: services.tokens.create_api_token(user_id=user.user_id, description="tests") for user in USERS}


@pytest.fixture
def app(settings: Settings, core: Core) -> FastAPI:
    return build_app(settings=settings, services=core.services, db=core.db, installers=(install,))


@dataclass
class Api:
    """The test client, with a helper to send each request as one of the test users (or anonymously)."""

    client: TestClient
    tokens: dict[str, str]

    def headers(self, user: Actor | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if user is not None:
            headers["Authorization"] = f"Token {self.tokens[user.user_id]}"
        return {**headers, **(extra or {})}

    def get(self, path: str, user: Actor | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(user, kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, user: Actor | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, headers=self.headers(user, kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def api(app: FastAPI, tokens: dict[str, str]) -> Iterator[Api]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, tokens=tokens)


def job_id(services: Services, slug: str) -> str:
    """A job's UUID."""
    return services.listings.get_job(slug).id


def request_approval(services: Services, actor: Actor = ALICE, *, job: str = "testjobs.ApprovalJob",
                     schedule: ScheduleInput | None = None, data: object = None) -> str:
    """Create a pending request through the services (a fixture, like Nautobot's ORM-made ones); return its id."""
    outcome = services.requests.request_job(actor=actor, job=job, schedule=schedule, data=data)
    assert outcome.scheduled_job is not None and outcome.needs_approval
    return outcome.scheduled_job.id


def future(minutes: int = 5, *, name: str = "test") -> ScheduleInput:
    return ScheduleInput(interval="future", name=name, start_time=NOW + timedelta(minutes=minutes))
