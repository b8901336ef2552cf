"""While the database cannot be reached, the REST API answers 503 with ``Retry-After`` and a JSON detail naming the
database (never a 500), logs the cause, and works again as soon as the database is back."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from bot.app import build_app
from bot.config import Settings
from bot.domain.permissions import Policy
from handlers.api import install
from tests.api.conftest import Clock
from tests.conftest import Outage, build_test_core

RUN = "/api/extras/jobs/testjobs.TestPass/run/"


def test_the_api_answers_503_with_retry_after_while_the_database_is_unreachable(
    outage: Outage, settings: Settings, policy: Policy, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    core = build_test_core(outage.db, settings, policy, clock=clock)
    token = core.services.tokens.create_api_token(user_id="UALICE", description="ci")
    app = build_app(settings=settings, services=core.services, db=core.db, installers=(install,))
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    with TestClient(app, raise_server_exceptions=False) as client:
        outage.cut()
        with caplog.at_level(logging.WARNING, logger="handlers.api"):
            responses = [client.post(RUN, headers=headers, json={"data": {}}) for _ in range(3)]
        for response in responses:
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.headers["retry-after"] == "5"
            assert response.json() == {"detail": "jobgate cannot reach its database; retry shortly."}
        assert any("database is unavailable" in r.getMessage() for r in caplog.records)  # the cause is in the log
        outage.restore()
        again = client.post(RUN, headers=headers, json={"data": {}})
        assert again.status_code == 201, again.text
