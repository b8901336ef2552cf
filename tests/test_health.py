"""``Database.ping()`` and ``/healthz``: the database's state is asked through storage, and a database that does not
answer makes the report say so (503), never an error."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app import build_app, build_core
from bot.config import Settings
from bot.domain.permissions import Policy
from storage.db import Database

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1


@pytest.fixture
def unreachable() -> Iterator[Database]:
    db = Database.from_url(UNREACHABLE)
    yield db
    db.dispose()


def test_ping_says_the_database_answers(database: Database) -> None:
    assert database.ping() is True


def test_ping_says_when_it_does_not_and_never_raises(unreachable: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        assert unreachable.ping() is False
    assert any("does not answer" in record.getMessage() for record in caplog.records)


def test_healthz_reports_a_database_that_does_not_answer_as_503(unreachable: Database) -> None:
    settings = Settings(database_url=UNREACHABLE)
    core = build_core(settings, db=unreachable, policy=Policy.empty(), migrate=False)
    app = build_app(settings=settings, services=core.services, db=unreachable)
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "unavailable"
    assert report["database"] == {"ok": False, "backend": "postgresql"}


def test_healthz_reports_a_database_that_answers(database: Database, settings: Settings) -> None:
    core = build_core(settings, db=database, policy=Policy.empty(), migrate=False)
    with TestClient(build_app(settings=settings, services=core.services, db=database)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == {"ok": True, "backend": database.engine.dialect.name}


def test_healthz_with_slack_and_the_background_work_reports_an_unreachable_database_as_503_json(
    unreachable: Database,
) -> None:
    from bot.background import Background
    from bot.notifier import Notifier
    from bot.slack import build_client

    settings = Settings(database_url=UNREACHABLE, slack_bot_token="xoxb-test", slack_signing_secret="s" * 32,
                        slack_api_url="http://127.0.0.1:1/api/")
    core = build_core(settings, db=unreachable, policy=Policy.empty(), migrate=False)
    notifier = Notifier(unreachable, build_client(settings, retries=False))
    background = Background(core, notifier=notifier)  # not started: its state is read as a fresh server's
    app = build_app(settings=settings, services=core.services, db=unreachable, lifecycle=background,
                    slack_mode="http")
    response = TestClient(app, raise_server_exceptions=False).get("/healthz",
                                                                  headers={"Authorization": "Token " + "a" * 40})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert report["status"] == "unavailable" and report["database"] == {"ok": False, "backend": "postgresql"}
    assert report["notifier"]["undelivered"] is None
    assert report["slack"] == {"connected": False, "mode": "http"}  # nothing checked auth.test
    assert "runner_id" not in response.text and "127.0.0.1" not in response.text
