"""Shared fixtures: a real database per test (a fresh SQLite file; PostgreSQL too when JOBGATE_TEST_DATABASE_URL is
set), the real services over it, and the test jobs. Nothing of jobgate's own is mocked."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import Core, build_core
from bot.config import Settings
from bot.domain.permissions import Actor, Policy
from bot.domain.policy_file import parse_policy
from bot.services import Services
from storage.db import Database, truncate_all, upgrade

FIXTURE_JOBS = Path(__file__).parent / "fixtures" / "jobs"
POSTGRES_URL = os.environ.get("JOBGATE_TEST_DATABASE_URL", "")
NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)

# The permissions every test starts from: admin, requesters, approvers, and people with partial rights.
POLICY_YAML = """
admins: [UADMIN]
groups:
  netops: [UALICE, UBOB]
  approvers: [UAPPROVER, UAPPROVER2, "@net-approvers"]
  viewers: [UVIEWER]
permissions:
  - name: netops may run jobs
    actions: [run, view]
    object_types: [extras.job]
    groups: [netops, approvers]
  - name: netops manage their schedules
    actions: [view]
    object_types: [extras.scheduledjob, extras.jobresult]
    groups: [netops]
  - name: approvers approve
    actions: [approve]
    object_types: [extras.job]
    groups: [approvers]
  - name: approvers manage schedules
    actions: [view, change, delete]
    object_types: [extras.scheduledjob]
    groups: [approvers]
  - name: approvers see results
    actions: [view]
    object_types: [extras.jobresult]
    groups: [approvers]
  - name: viewers
    actions: [view]
    object_types: [extras.job, extras.scheduledjob]
    groups: [viewers]
"""

ALICE = Actor(user_id="UALICE")
BOB = Actor(user_id="UBOB")
APPROVER = Actor(user_id="UAPPROVER")
APPROVER2 = Actor(user_id="UAPPROVER2")
ADMIN = Actor(user_id="UADMIN")
NOBODY = Actor(user_id="UNOBODY")
VIEWER = Actor(user_id="UVIEWER")
OWNER = Actor(user_id="UOWNER")
"""Runs every job, but sees the scheduled jobs and results of TestPass only (by ``OWNER_RULES``)."""

OWNER_RULES = """
  - name: owner runs every job
    actions: [run, view]
    object_types: [extras.job]
    users: [UOWNER]
  - name: owner sees the schedules and results of TestPass
    actions: [view]
    object_types: [extras.scheduledjob, extras.jobresult]
    users: [UOWNER]
    jobs: ["testjobs.TestPass"]
"""
"""``OWNER``'s permissions, to append to a policy's ``permissions``."""


def _database_urls() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(params=_database_urls())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with an empty, fully migrated schema: SQLite file per test, or the shared PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobgate.db'}"
        return
    reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL


_fresh_schema: set[str] = set()


def reset_postgres(url: str) -> None:
    """Empty the test PostgreSQL database: schema rebuilt by the migrations once per run, tables truncated per test.

    The test database belongs to the tests: whatever an earlier run left there is dropped first.
    """
    db = Database.from_url(url)
    try:
        if url not in _fresh_schema:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            _fresh_schema.add(url)
        upgrade(db.engine)
        truncate_all(db.engine)
    finally:
        db.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.from_url(database_url)
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def jobs_dir(tmp_path: Path) -> Path:
    """A jobs folder holding the test jobs (a copy, so a test may add or break modules)."""
    target = tmp_path / "jobs"
    shutil.copytree(FIXTURE_JOBS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def settings(jobs_dir: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, jobs_paths=(jobs_dir,), time_zone="UTC")


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY_YAML, source="test policy")


def build_test_core(database: Database, settings: Settings, policy: Policy, *,
                    clock: Callable[[], datetime] = lambda: NOW) -> Core:
    """The real parts over the test database, with the test jobs synced and all of them enabled."""
    core = build_core(settings, db=database, policy=policy, clock=clock, migrate=False)
    core.services.management.sync_jobs(now=NOW)
    for job in core.services.listings.list_jobs():
        core.services.management.set_job_enabled(job.slug, True, now=NOW)
    return core


@pytest.fixture
def core(database: Database, settings: Settings, policy: Policy) -> Core:
    """The real parts of a jobgate process over the test database (test jobs synced and enabled)."""
    return build_test_core(database, settings, policy)


@pytest.fixture
def services(core: Core) -> Services:
    """The real services over the test database, with the test jobs synced and all of them enabled."""
    return core.services


class Outage:
    """A database jobgate uses that a test can take away and give back, without touching the shared server.

    SQLite: another connection holds ``BEGIN EXCLUSIVE`` (writers then give up after a short busy timeout; readers
    still read, as WAL lets them). PostgreSQL: jobgate connects through a ``TcpProxy`` that is cut.
    """

    def __init__(self, url: str, tmp_path: Path) -> None:
        from sqlalchemy.engine import make_url

        from tests.tcp_proxy import TcpProxy

        self.url = url
        self.proxy: TcpProxy | None = None
        self._holder: sqlite3.Connection | None = None
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.path = str(parsed.database)
            self.db = Database.from_url(url, sqlite_busy_timeout_ms=300)
        else:
            self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).__enter__()
            self.db = Database.from_url(parsed.set(host="127.0.0.1", port=self.proxy.port)
                                        .render_as_string(hide_password=False))
        upgrade(self.db.engine)

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
            return
        self._holder = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        self._holder.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
            return
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None

    def close(self) -> None:
        self.restore()
        self.db.dispose()
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def outage(database_url: str, tmp_path: Path) -> Iterator[Outage]:
    """The test database as jobgate reaches it, with ``cut()`` and ``restore()`` (see ``Outage``)."""
    taken = Outage(database_url, tmp_path)
    yield taken
    taken.close()
