"""Jobs: what discovery found, stored, and the operator's switches (enabled).

Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.records import JobRecord
from storage.models import JobRow
from storage.repositories._records import is_uuid, job_record, new_id


@dataclass(frozen=True, kw_only=True)
class JobDefinition:
    """What discovery found for one job class, ready to be stored."""

    slug: str
    module_name: str
    class_name: str
    name: str
    description: str
    source: str
    approval_required: bool
    has_sensitive_variables: bool
    hidden: bool
    soft_time_limit: float | None
    time_limit: float | None
    variables: dict[str, Any]
    version: str = ""
    grouping: str = ""


@dataclass(frozen=True)
class SyncReport:
    """What a sync of discovered jobs changed in the jobs table (slugs)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    uninstalled: tuple[str, ...]
    reinstalled: tuple[str, ...]


class JobRepository:
    """The jobs table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ident: str) -> JobRecord | None:
        """Find a job by UUID, slug or name (in that order)."""
        row = self._get_row(ident)
        return job_record(row) if row is not None else None

    def _get_row(self, ident: str) -> JobRow | None:
        if is_uuid(ident):
            row = self.session.get(JobRow, ident)
            if row is not None:
                return row
        row = self.session.scalars(select(JobRow).where(JobRow.slug == ident)).first()
        if row is None:
            row = self.session.scalars(select(JobRow).where(JobRow.name == ident).order_by(JobRow.slug)).first()
        return row

    def list_all(self, *, include_uninstalled: bool = True) -> list[JobRecord]:
        """Every job, by slug."""
        query = select(JobRow).order_by(JobRow.slug)
        if not include_uninstalled:
            query = query.where(JobRow.installed)
        return [job_record(row) for row in self.session.scalars(query)]

    def set_enabled(self, ident: str, enabled: bool, *, now: datetime) -> JobRecord | None:
        """Switch a job (by UUID, slug or name) on or off; None when there is no such job."""
        row = self._get_row(ident)
        if row is None:
            return None
        row.enabled = enabled
        row.updated_at = now
        self.session.flush()
        return job_record(row)

    def set_version(self, job_id: str, version: str, *, now: datetime) -> bool:
        """Record the code version a worker found for a job (its module changed since the last sync)."""
        row = self.session.get(JobRow, job_id)
        if row is None or row.version == version:
            return False
        row.version = version
        row.updated_at = now
        self.session.flush()
        return True

    def sync(self, definitions: Sequence[JobDefinition], *, now: datetime) -> SyncReport:
        """Store what discovery found: new jobs start disabled; jobs whose code vanished are marked not installed."""
        existing = {row.slug: row for row in self.session.scalars(select(JobRow))}
        added: list[str] = []
        updated: list[str] = []
        reinstalled: list[str] = []
        for d in definitions:
            values = _definition_values(d)
            row = existing.pop(d.slug, None)
            if row is None:
                self.session.add(JobRow(id=new_id(), slug=d.slug, enabled=False, installed=True,
                                        created_at=now, updated_at=now, **values))
                added.append(d.slug)
                continue
            if not row.installed:
                row.installed = True
                reinstalled.append(d.slug)
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                updated.append(d.slug)
            if changed or d.slug in reinstalled:
                row.updated_at = now
        uninstalled = []
        for slug, row in existing.items():
            if row.installed:
                row.installed = False
                row.updated_at = now
                uninstalled.append(slug)
        self.session.flush()
        return SyncReport(tuple(added), tuple(updated), tuple(uninstalled), tuple(reinstalled))


def _definition_values(d: JobDefinition) -> dict[str, Any]:
    """The columns discovery owns (everything but the id, the slug and the operator's switches)."""
    return {
        "module_name": d.module_name,
        "class_name": d.class_name,
        "name": d.name,
        "description": d.description,
        "source": d.source,
        "approval_required": d.approval_required,
        "has_sensitive_variables": d.has_sensitive_variables,
        "hidden": d.hidden,
        "soft_time_limit": d.soft_time_limit,
        "time_limit": d.time_limit,
        "variables": d.variables,
        "version": d.version,
        "grouping": d.grouping,
    }
