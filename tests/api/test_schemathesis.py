"""schemathesis against ``/api/schema/``: requests generated from the OpenAPI document, sent to the real app with a
real token, must never get a 5xx and every answer must conform to the document (status, content type, body).

Bounded: a few dozen examples per operation, no deadline per example, the whole file well under a minute. Path ids
are replaced by ids that exist (a fresh pending request, a job, a job result), so the generated queries and bodies
reach the services instead of stopping at 404 (unknown ids are covered in test_bad_input.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as examples
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.app import build_app, build_core
from bot.config import Settings
from bot.domain.permissions import Policy
from bot.services import Services
from handlers.api import install
from storage.db import Database
from tests.api.conftest import Api, job_id, request_approval
from tests.conftest import ADMIN, ALICE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
JOBS = itertools.cycle(["testjobs.APITestJob", "testjobs.TestPass", "testjobs.ApprovalJob", "testjobs.ExampleJob",
                        "apijobs.SchedulingExampleJob", "testjobs.SensitiveApprovalJob"])


def _document() -> dict[str, Any]:
    """``/api/schema/`` as served (the document does not depend on the database, which is never opened here)."""
    core = build_core(Settings(), db=Database.from_url("sqlite://"), policy=Policy.empty(), migrate=False)
    app = build_app(settings=Settings(), services=core.services, db=core.db, installers=(install,))
    with TestClient(app) as client:
        document: dict[str, Any] = client.get("/api/schema/").json()
    return document


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def settings(jobs_dir: Path, database_url: str) -> Settings:
    """Room for the fresh pending request each generated example needs (the per-person limit is tested elsewhere)."""
    return Settings(database_url=database_url, jobs_paths=(jobs_dir,), time_zone="UTC", max_pending_per_user=10_000)


@schema.parametrize()
@examples(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_openapi_document(case: schemathesis.Case[Any], api: Api, services: Services) -> None:
    if "id" in (case.path_parameters or {}):
        case.path_parameters = {"id": _existing_id(case.path, services)}
    case.call_and_validate(app=api.client.app, headers={"Authorization": f"Token {api.tokens[ADMIN.user_id]}"},
                           checks=CHECKS)


def _existing_id(path: str, services: Services) -> str:
    if path.startswith("/api/extras/scheduled-jobs/"):
        return request_approval(services, ALICE)
    if path.startswith("/api/extras/job-results/"):
        result = services.requests.request_job(actor=ALICE, job="testjobs.TestPass").job_result
        assert result is not None
        return result.id
    return job_id(services, next(JOBS))
