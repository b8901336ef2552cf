"""Helpers for the repository contract tests: real databases (the ``database`` fixture of ``tests/conftest.py``, so
SQLite and, when configured, PostgreSQL), jobs stored through the repositories, and new records with defaults."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.approvals import ApprovalState
from bot.domain.records import JobRecord, NewJobResult, NewScheduledJob
from bot.domain.schedules import IntervalType, Schedule
from storage.db import Database
from storage.repositories import JobDefinition, Repositories

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@contextmanager
def write(database: Database) -> Iterator[Repositories]:
    """The repositories inside one write transaction (committed at the end)."""
    with database.write() as session:
        yield Repositories(session)


@contextmanager
def read(database: Database) -> Iterator[Repositories]:
    """The repositories inside one read transaction."""
    with database.read() as session:
        yield Repositories(session)


def definition(slug: str, **overrides: Any) -> JobDefinition:
    """What discovery would report for a job class ``slug``."""
    module, _, name = slug.rpartition(".")
    values: dict[str, Any] = {
        "slug": slug, "module_name": module, "class_name": name, "name": name, "description": f"{name} job",
        "source": "local", "approval_required": False, "has_sensitive_variables": False, "hidden": False,
        "soft_time_limit": None, "time_limit": None, "variables": {},
    }
    return JobDefinition(**{**values, **overrides})


def add_job(database: Database, slug: str = "jobs.Backup", *, enabled: bool = True, **overrides: Any) -> JobRecord:
    """Store a job the way a sync does, enabled unless told otherwise."""
    with write(database) as repos:
        repos.jobs.sync([*_existing(repos), definition(slug, **overrides)], now=NOW)
        job = repos.jobs.set_enabled(slug, enabled, now=NOW)
    assert job is not None
    return job


def _existing(repos: Repositories) -> list[JobDefinition]:
    """The definitions of the jobs already stored (a sync without them would mark them not installed)."""
    return [definition(j.slug, name=j.name, approval_required=j.approval_required,
                       has_sensitive_variables=j.has_sensitive_variables) for j in repos.jobs.list_all() if j.installed]


def new_scheduled_job(job: JobRecord, **overrides: Any) -> NewScheduledJob:
    """An hourly scheduled job of ``job`` that needs no approval, first due an hour after ``NOW``."""
    start = overrides.pop("start", NOW + timedelta(hours=1))
    interval = overrides.pop("interval", IntervalType.HOURLY)
    new = NewScheduledJob(
        name=f"{job.name} hourly", job_id=job.id, user_id="UALICE",
        schedule=Schedule(interval=interval, start_time=start, time_zone="Europe/Zurich", name=f"{job.name} hourly"),
        data={"device": "core-1"}, commit=True, approval_required=False, approval_state=ApprovalState.NOT_REQUIRED,
        next_run_at=start, created_at=NOW,
    )
    return replace(new, **overrides)


def pending_request(job: JobRecord, **overrides: Any) -> NewScheduledJob:
    """A request awaiting approval: no next run until it is approved."""
    return new_scheduled_job(job, approval_required=True, approval_state=ApprovalState.PENDING, next_run_at=None,
                             **overrides)


def new_job_result(job: JobRecord | None, **overrides: Any) -> NewJobResult:
    """A run of ``job`` asked for now by Alice."""
    new = NewJobResult(job_id=job.id if job else None, name=job.name if job else "(deleted job)", user_id="UALICE",
                       data={"device": "core-1"}, created_at=NOW)
    return replace(new, **overrides)
