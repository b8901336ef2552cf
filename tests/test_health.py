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
